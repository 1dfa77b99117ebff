/**
 * Editor content as Tiptap keeps it (the `default` XmlFragment, one
 * <paragraph> per block), written and read by stock clients in tests.
 */
import * as Y from 'yjs'

/** Replace the whole content with one paragraph per text. */
export function setParagraphs (doc: Y.Doc, texts: string[]): void {
  const fragment = doc.getXmlFragment('default')
  doc.transact(() => {
    fragment.delete(0, fragment.length)
    fragment.insert(0, texts.map(paragraph))
  })
}

/** Add a paragraph at the end. */
export function appendParagraph (doc: Y.Doc, text: string): void {
  const fragment = doc.getXmlFragment('default')
  fragment.insert(fragment.length, [paragraph(text)])
}

/** The text of each block, in order. */
export function paragraphsOf (doc: Y.Doc): string[] {
  return doc.getXmlFragment('default').toArray().map((node) => node instanceof Y.XmlElement ? node.toArray().map((t) => t instanceof Y.XmlText ? t.toString() : '').join('') : '')
}

function paragraph (text: string): Y.XmlElement {
  const p = new Y.XmlElement('paragraph')
  p.insert(0, [new Y.XmlText(text)])
  return p
}
