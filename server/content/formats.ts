/**
 * THROWAWAY STUB of the content module (its real version comes from the
 * content API work and replaces this file on merge). Same signatures; only
 * 'text' and 'yjs' are implemented, simply: text is the `default`
 * fragment's blocks, one per line. Everything else throws ContentError.
 */
import * as Y from 'yjs'

export type ContentFormat = 'json' | 'html' | 'markdown' | 'text' | 'yjs'

export class ContentError extends Error {}

function textOf (node: Y.XmlElement | Y.XmlText | Y.XmlFragment): string {
  if (node instanceof Y.XmlText) return (node.toDelta() as Array<{ insert: unknown }>).map((d) => typeof d.insert === 'string' ? d.insert : '').join('')
  return node.toArray().map((child) => child instanceof Y.XmlElement || child instanceof Y.XmlText ? textOf(child) : '').join('')
}

export function renderContent (ydoc: Y.Doc, format: ContentFormat): { body: string | Uint8Array, contentType: string } {
  if (format === 'yjs') return { body: Y.encodeStateAsUpdate(ydoc), contentType: 'application/octet-stream' }
  if (format === 'text') {
    const blocks = ydoc.getXmlFragment('default').toArray().map((n) => n instanceof Y.XmlElement || n instanceof Y.XmlText ? textOf(n) : '')
    return { body: blocks.join('\n'), contentType: 'text/plain; charset=utf-8' }
  }
  throw new ContentError(`format ${format} is not available in this build`)
}

export function contentToUpdate (ydoc: Y.Doc, content: string | Uint8Array, format: ContentFormat, mode: 'replace' | 'append' | 'prepend'): Uint8Array {
  void ydoc; void content; void mode
  throw new ContentError(`format ${format} is not available in this build`)
}
