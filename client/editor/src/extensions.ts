/**
 * The Tiptap setup for a collaborative document: the schema shared with the
 * server (common/editor-schema.ts: StarterKit without its own undo history,
 * Yjs undoes instead, so undo takes back only your own changes:
 * docs/editor.md), Collaboration on the `default` fragment, CollaborationCaret
 * from @tiptap/y-tiptap (mixing in y-prosemirror or the v2 cursor extension
 * crashes), and never initial `content` (it would be added again on every
 * load: docs/embedding.md, "Never seed content from the page").
 */
import type { Extensions } from '@tiptap/core'
import { Placeholder } from '@tiptap/extensions'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import type * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import type { EditorUser } from './user.js'
import { EDITOR_FRAGMENT, editorSchemaExtensions } from '@quire/common/editor-schema'

export interface CollaborativeSetup {
  ydoc: Y.Doc
  /** The awareness the caret plugin writes our cursor to and reads others' from. */
  awareness: Awareness
  user: EditorUser
  placeholder: string
}

export function collaborativeExtensions ({ ydoc, awareness, user, placeholder }: CollaborativeSetup): Extensions {
  return [
    ...editorSchemaExtensions(),
    Placeholder.configure({ placeholder }),
    Collaboration.configure({ document: ydoc, field: EDITOR_FRAGMENT }),
    CollaborationCaret.configure({ provider: { awareness }, user }),
  ]
}
