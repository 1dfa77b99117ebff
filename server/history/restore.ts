/**
 * Restoring a version as a forward change (docs/history.md, "Restore"):
 * history is never rewritten. The change replaces the editor's content
 * (the `default` fragment, as Tiptap and the content API use it) with a
 * copy of the version's, node for node with every attribute and mark, so
 * the document reads as the version did; collaborators receive it like any
 * other edit. Built on a scratch copy of the document: the live Y.Doc is
 * only ever changed through SharedDocument.applyUpdate.
 */
import * as Y from 'yjs'

/** The editor's fragment. */
export const CONTENT_FRAGMENT = 'default'

/**
 * The update that makes a document whose state is `current` hold the
 * content of `version` (both whole-document updates); null when it already does.
 */
export function restoreUpdate (current: Uint8Array, version: Uint8Array): Uint8Array | null {
  const from = new Y.Doc()
  const work = new Y.Doc()
  try {
    Y.applyUpdate(from, version)
    Y.applyUpdate(work, current)
    const source = from.getXmlFragment(CONTENT_FRAGMENT)
    const target = work.getXmlFragment(CONTENT_FRAGMENT)
    if (source.toString() === target.toString()) return null
    let change: Uint8Array | null = null
    work.on('update', (update: Uint8Array) => { change = update })
    work.transact(() => {
      target.delete(0, target.length)
      // (A hook is an XmlElement's kin; Yjs's insert types leave it out.)
      target.insert(0, source.toArray().map((node) => node.clone() as Y.XmlElement | Y.XmlText))
    })
    return change
  } finally {
    from.destroy()
    work.destroy()
  }
}
