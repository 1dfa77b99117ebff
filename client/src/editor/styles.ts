/** Put the editor's stylesheet into the document or shadow root the editor lives in, once. */
import css from './styles.css?inline'

export function ensureStyles (element: Element): void {
  const root = element.getRootNode()
  const target: ParentNode & Node = root instanceof ShadowRoot ? root : document.head
  if (target.querySelector('style[data-quire-editor]')) return
  const style = document.createElement('style')
  style.setAttribute('data-quire-editor', '')
  style.textContent = css
  target.appendChild(style)
}
