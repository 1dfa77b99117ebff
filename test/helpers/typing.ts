/** Real Yjs updates for tests: typing into Y.Text "t", and reading text back from updates. */
import * as Y from 'yjs'

/** Updates that type `text` one character at a time at the end of the doc's text. */
export function typing (text: string, doc = new Y.Doc()): Uint8Array[] {
  const updates: Uint8Array[] = []
  const on = (u: Uint8Array): void => { updates.push(u) }
  doc.on('update', on)
  const t = doc.getText('t')
  for (const ch of text) t.insert(t.length, ch)
  doc.off('update', on)
  return updates
}

export function textOf (updates: Uint8Array[]): string {
  const doc = new Y.Doc()
  Y.transact(doc, () => { for (const u of updates) Y.applyUpdate(doc, u) })
  return doc.getText('t').toString()
}
