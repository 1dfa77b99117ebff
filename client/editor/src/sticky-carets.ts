/**
 * Keep our caret visible to others when the editor loses focus.
 *
 * The caret plugin (y-tiptap, like y-prosemirror) clears the awareness
 * `cursor` field on every blur, so a collaborator who clicks a toolbar
 * button or switches windows vanishes from everyone's screen. We hand it a
 * view of the awareness that ignores exactly that call; the cursor is still
 * cleared when the editor is released (destroyed) and disappears with the
 * awareness state when the user leaves.
 */
import type { Awareness } from 'y-protocols/awareness'

export interface StickyAwareness {
  awareness: Awareness
  /** From now on, clearing the cursor goes through (call before destroying the editor). */
  release (): void
}

export function keepCaretOnBlur (awareness: Awareness, cursorField = 'cursor'): StickyAwareness {
  let released = false
  const setLocalStateField = (field: string, value: unknown): void => {
    if (!released && field === cursorField && value === null) return
    awareness.setLocalStateField(field, value)
  }
  const view = new Proxy(awareness, {
    get (target, prop) {
      if (prop === 'setLocalStateField') return setLocalStateField
      const value = Reflect.get(target, prop, target) as unknown
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  })
  return { awareness: view, release: () => { released = true } }
}
