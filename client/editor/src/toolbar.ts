/**
 * The formatting toolbar. Undo and redo go through Yjs (the Collaboration
 * extension's commands), so they undo only this user's changes.
 */
import type { Editor } from '@tiptap/core'
// The commands StarterKit adds (toggleBold…) are declared by its types.
import type {} from '@tiptap/starter-kit'

interface Tool {
  name: string
  label: string
  /** Inline SVG body (24×24, stroked) or a short text glyph. */
  icon: string
  run (editor: Editor): void
  active? (editor: Editor): boolean
  can? (editor: Editor): boolean
}

const svg = (body: string): string =>
  `<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${body}</svg>`

const heading = (level: 1 | 2 | 3): Tool => ({
  name: `heading-${level}`,
  label: `Heading ${level}`,
  icon: `<span class="quire-glyph">H${level}</span>`,
  run: (e) => e.chain().focus().toggleHeading({ level }).run(),
  active: (e) => e.isActive('heading', { level }),
})

function toggleLink (editor: Editor): void {
  if (editor.isActive('link')) {
    editor.chain().focus().extendMarkRange('link').unsetLink().run()
    return
  }
  const href = window.prompt('Link to', 'https://')?.trim()
  if (!href || href === 'https://') return
  if (editor.state.selection.empty) {
    editor.chain().focus().insertContent({ type: 'text', text: href, marks: [{ type: 'link', attrs: { href } }] }).run()
  } else {
    editor.chain().focus().extendMarkRange('link').setLink({ href }).run()
  }
}

const GROUPS: Tool[][] = [
  [
    { name: 'undo', label: 'Undo', icon: svg('<path d="M9 14 4 9l5-5"/><path d="M4 9h10.5a5.5 5.5 0 0 1 0 11H11"/>'), run: (e) => e.chain().focus().undo().run(), can: (e) => e.can().undo() },
    { name: 'redo', label: 'Redo', icon: svg('<path d="m15 14 5-5-5-5"/><path d="M20 9H9.5a5.5 5.5 0 0 0 0 11H13"/>'), run: (e) => e.chain().focus().redo().run(), can: (e) => e.can().redo() },
  ],
  [heading(1), heading(2), heading(3)],
  [
    { name: 'bold', label: 'Bold', icon: '<span class="quire-glyph" style="font-weight:700">B</span>', run: (e) => e.chain().focus().toggleBold().run(), active: (e) => e.isActive('bold') },
    { name: 'italic', label: 'Italic', icon: '<span class="quire-glyph" style="font-style:italic;font-family:Georgia,serif">I</span>', run: (e) => e.chain().focus().toggleItalic().run(), active: (e) => e.isActive('italic') },
    { name: 'strike', label: 'Strikethrough', icon: '<span class="quire-glyph" style="text-decoration:line-through">S</span>', run: (e) => e.chain().focus().toggleStrike().run(), active: (e) => e.isActive('strike') },
    { name: 'code', label: 'Inline code', icon: svg('<path d="m8 7-5 5 5 5"/><path d="m16 7 5 5-5 5"/>'), run: (e) => e.chain().focus().toggleCode().run(), active: (e) => e.isActive('code') },
    { name: 'link', label: 'Link', icon: svg('<path d="M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7.1-7.1l-1.7 1.7"/><path d="M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7.1 7.1l1.7-1.7"/>'), run: toggleLink, active: (e) => e.isActive('link') },
  ],
  [
    { name: 'bullet-list', label: 'Bulleted list', icon: svg('<path d="M9 6h11M9 12h11M9 18h11"/><circle cx="4.5" cy="6" r="1" fill="currentColor"/><circle cx="4.5" cy="12" r="1" fill="currentColor"/><circle cx="4.5" cy="18" r="1" fill="currentColor"/>'), run: (e) => e.chain().focus().toggleBulletList().run(), active: (e) => e.isActive('bulletList') },
    { name: 'ordered-list', label: 'Numbered list', icon: svg('<path d="M10 6h10M10 12h10M10 18h10"/><path d="M4 4.5h1.5V9M3.5 9h3" stroke-width="1.5"/><path d="M3.5 14.5c.5-.7 2.8-.9 2.8.6 0 1.2-2.8 2.2-2.8 3.9h3" stroke-width="1.5"/>'), run: (e) => e.chain().focus().toggleOrderedList().run(), active: (e) => e.isActive('orderedList') },
    { name: 'blockquote', label: 'Quote', icon: svg('<path d="M4 5v14"/><path d="M9 7h11M9 12h11M9 17h7"/>'), run: (e) => e.chain().focus().toggleBlockquote().run(), active: (e) => e.isActive('blockquote') },
    { name: 'code-block', label: 'Code block', icon: svg('<rect x="3" y="4" width="18" height="16" rx="2"/><path d="m10 9-3 3 3 3M14 9l3 3-3 3"/>'), run: (e) => e.chain().focus().toggleCodeBlock().run(), active: (e) => e.isActive('codeBlock') },
  ],
]

export interface Toolbar {
  element: HTMLElement
  /** Reflect the editor's state (active marks, undo available, editable). */
  update (): void
}

export function createToolbar (editor: Editor): Toolbar {
  const element = document.createElement('div')
  element.className = 'quire-toolbar'
  element.setAttribute('role', 'toolbar')
  element.setAttribute('aria-label', 'Formatting')
  const buttons: Array<{ tool: Tool, button: HTMLButtonElement }> = []
  for (const group of GROUPS) {
    const groupEl = document.createElement('div')
    groupEl.className = 'quire-toolbar-group'
    for (const tool of group) {
      const button = document.createElement('button')
      button.type = 'button'
      button.className = 'quire-tool'
      button.dataset.tool = tool.name
      button.title = tool.label
      button.setAttribute('aria-label', tool.label)
      button.innerHTML = tool.icon
      // Keep the editor's selection: the command runs on click with focus restored.
      button.addEventListener('mousedown', (e) => e.preventDefault())
      button.addEventListener('click', () => tool.run(editor))
      groupEl.append(button)
      buttons.push({ tool, button })
    }
    element.append(groupEl)
  }
  const update = (): void => {
    const editable = editor.isEditable
    for (const { tool, button } of buttons) {
      if (tool.active) button.setAttribute('aria-pressed', String(editable && tool.active(editor)))
      button.disabled = !editable || (tool.can ? !tool.can(editor) : false)
    }
  }
  update()
  return { element, update }
}
