/** Put the editor's stylesheet into the document or shadow root the editor lives in, once. */
import { EDITOR_CSS } from './styles-css.js'

export function ensureStyles (element: Element): void {
  const root = element.getRootNode()
  const target: ParentNode & Node = root instanceof ShadowRoot ? root : document.head
  if (target.querySelector('style[data-quire-editor]')) return
  const style = document.createElement('style')
  style.setAttribute('data-quire-editor', '')
  style.textContent = EDITOR_CSS
  target.appendChild(style)
}
