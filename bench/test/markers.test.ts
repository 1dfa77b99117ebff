/**
 * The bench counts deliveries by finding `~~seq~` markers in the raw bytes
 * of received Yjs updates. This checks that the markers survive Yjs's
 * encoding, including updates merged by a server, so the bench's delivered
 * counts can be trusted. (The bench itself is `npm run bench`, never part of
 * `npm test`.)
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { markerText, scanMarkers } from '../clients/markers.js'
import { percentile } from '../stats.js'

function editsOf (seqs: number[]): Uint8Array[] {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  for (const s of seqs) doc.getText('default').insert(doc.getText('default').length, markerText(s))
  return updates
}

const found = (update: Uint8Array): number[] => {
  const seqs: number[] = []
  const frame = Buffer.concat([Buffer.from([0, 2, 0x7e]), Buffer.from(update)])
  scanMarkers(frame, 3, frame.length, (s) => seqs.push(s))
  return seqs
}

describe('bench latency markers', () => {
  it('are found in a single Yjs update', () => {
    expect(found(editsOf([7])[0])).toEqual([7])
  })

  it('are all found, in order, in merged updates', () => {
    const merged = Y.mergeUpdates(editsOf([1, 2, 30, 400, 5000]))
    expect(found(merged)).toEqual([1, 2, 30, 400, 5000])
  })

  it('percentile is nearest-rank', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5)
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10)
  })
})
