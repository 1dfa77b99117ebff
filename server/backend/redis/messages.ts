/**
 * What instances tell each other on a document's channel. A message is one
 * header line of text, then a binary body:
 *
 *   u <instance> <last> <count>\n  then <count> times "<bytes>:" + update
 *   a <instance>\n                 then an awareness update (y-protocols)
 *   q <instance>\n                 "send me your clients' awareness states"
 *   d <instance>\n                 the document was deleted (published by the delete script)
 *
 * Update messages are written by the append script (scripts.ts), so the
 * updates cross Redis once, in the same round trip that stores them.
 */

export type BusMessage =
  | { kind: 'updates', instance: string, last: number, updates: Uint8Array[] }
  | { kind: 'awareness', instance: string, update: Uint8Array }
  | { kind: 'query', instance: string }
  | { kind: 'deleted', instance: string }

const NEWLINE = 0x0a
const COLON = 0x3a

export function encodeAwarenessMessage (instance: string, update: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`a ${instance}\n`), update])
}

export function encodeQueryMessage (instance: string): Buffer {
  return Buffer.from(`q ${instance}\n`)
}

/** Null for anything malformed (a foreign publisher on our channel harms nobody). */
export function decodeBusMessage (message: Buffer): BusMessage | null {
  const eol = message.indexOf(NEWLINE)
  if (eol < 0) return null
  const header = message.toString('latin1', 0, eol).split(' ')
  const instance = header[1]
  if (!instance) return null
  switch (header[0]) {
    case 'a': return { kind: 'awareness', instance, update: message.subarray(eol + 1) }
    case 'q': return { kind: 'query', instance }
    case 'd': return { kind: 'deleted', instance }
    case 'u': {
      const last = Number(header[2])
      const count = Number(header[3])
      if (!Number.isSafeInteger(last) || !Number.isSafeInteger(count) || count < 1 || count > last) return null
      const updates = readUpdates(message, eol + 1, count)
      return updates && { kind: 'updates', instance, last, updates }
    }
    default: return null
  }
}

function readUpdates (message: Buffer, offset: number, count: number): Uint8Array[] | null {
  const updates: Uint8Array[] = []
  let pos = offset
  for (let i = 0; i < count; i++) {
    const colon = message.indexOf(COLON, pos)
    if (colon < 0) return null
    const length = Number(message.toString('latin1', pos, colon))
    const end = colon + 1 + length
    if (!Number.isSafeInteger(length) || end > message.length) return null
    updates.push(message.subarray(colon + 1, end))
    pos = end
  }
  return pos === message.length ? updates : null
}
