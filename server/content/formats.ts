/**
 * THROWAWAY STUB of the content helper's renderer, so the webhooks can be
 * built and tested against its API; the real module replaces this file on
 * merge. Only 'text' and 'yjs' are implemented here; other formats throw.
 */
import * as Y from 'yjs'

export type ContentFormat = 'json' | 'html' | 'markdown' | 'text' | 'yjs'

/** The document in `format`: its bytes or text, and the content type to serve it with. */
export function renderContent (ydoc: Y.Doc, format: ContentFormat): { body: string | Uint8Array, contentType: string } {
  switch (format) {
    case 'yjs': return { body: Y.encodeStateAsUpdate(ydoc), contentType: 'application/octet-stream' }
    case 'text': return { body: textOf(ydoc.getXmlFragment('default')), contentType: 'text/plain; charset=utf-8' }
    default: throw new Error(`format ${format} is not implemented in this stub`)
  }
}

/** Plain text of Tiptap's fragment: one line per block. */
function textOf (node: Y.XmlFragment | Y.XmlElement): string {
  const parts: string[] = []
  for (const child of node.toArray()) {
    if (child instanceof Y.XmlText) parts.push(child.toDelta().map((d: { insert?: unknown }) => typeof d.insert === 'string' ? d.insert : '').join(''))
    else if (child instanceof Y.XmlElement) parts.push(textOf(child))
  }
  return parts.join('\n')
}
