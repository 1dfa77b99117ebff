/**
 * Latency markers: a writer's edit inserts the text `~~<seq>~`. Yjs encodes
 * inserted strings as plain UTF-8 inside an update, so a reader finds the
 * sequence numbers by scanning the received frame's bytes — merged updates
 * carry several — without decoding the update. The writer remembers when it
 * sent each sequence number.
 */
const TILDE = 0x7e
const NEEDLE = Buffer.from('~~')

export const markerText = (seq: number): string => `~~${seq}~`

/** Call `found(seq)` for every marker in `frame[start..end)`. */
export function scanMarkers (frame: Buffer, start: number, end: number, found: (seq: number) => void): void {
  let i = frame.indexOf(NEEDLE, start)
  while (i !== -1 && i < end) {
    let j = i + 2
    let seq = 0
    while (j < end && frame[j] >= 0x30 && frame[j] <= 0x39) {
      seq = seq * 10 + frame[j] - 0x30
      j++
    }
    if (j > i + 2 && j < end && frame[j] === TILDE) {
      found(seq)
      i = frame.indexOf(NEEDLE, j + 1)
    } else {
      i = frame.indexOf(NEEDLE, i + 1)
    }
  }
}
