/**
 * The editor's document schema, defined once: the Tiptap extensions that
 * decide which nodes and marks a Quire document holds (headings, lists,
 * bold, links, code blocks…) and the Yjs fragment they live in. The web
 * editor (client/editor/src/extensions.ts) adds its collaboration, caret and
 * placeholder extensions on top; the server's content API
 * (server/content/) parses and renders documents with exactly these, so
 * what the API writes is what the editor shows, and the other way round.
 *
 * Tiptap packages only: no Node module, no DOM at import time.
 */
import type { Extensions } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'

/** The Y.XmlFragment the editor binds to (Tiptap's Collaboration default). */
export const EDITOR_FRAGMENT = 'default'

/**
 * The schema-defining extensions. StarterKit without its own undo history:
 * with Collaboration, Yjs undoes instead (docs/editor.md).
 */
export function editorSchemaExtensions (): Extensions {
  return [
    StarterKit.configure({
      undoRedo: false,
      link: { openOnClick: false, autolink: true, defaultProtocol: 'https' },
    }),
  ]
}
