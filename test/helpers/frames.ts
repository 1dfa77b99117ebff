/**
 * Building client frames and reading server frames at the byte level, for
 * tests that speak the protocol without a Yjs provider.
 */
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { encodeAwarenessUpdate } from '../../common/awareness.js'
import { encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate } from '../../common/messages.js'

export { encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate }

export const QUERY_AWARENESS = new Uint8Array([3])
export const EMPTY_AWARENESS = new Uint8Array([1, 1, 0])

/**
 * A small document using every kind of content (formatting, deletion,
 * nested JSON, binary, XML), and the updates that built it: material for
 * fuzzing.
 */
export function richDoc (clientId?: number): { doc: Y.Doc, updates: Uint8Array[] } {
  const doc = new Y.Doc()
  if (clientId !== undefined) doc.clientID = clientId
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  const t = doc.getText('t')
  t.insert(0, 'fuzzing is fun')
  t.format(0, 4, { bold: true })
  t.delete(3, 2)
  doc.getMap('m').set('k', { nested: [1, 2, 3] })
  doc.getArray('a').insert(0, [1, 'two', new Uint8Array([3])])
  doc.getXmlFragment('default').insert(0, [new Y.XmlElement('paragraph')])
  return { doc, updates }
}

/** An awareness frame setting one client's state (JSON text as given). */
export function awarenessFrame (clientId: number, clock: number, json: string): Uint8Array {
  return encodeAwareness(encodeAwarenessUpdate([{ clientId, clock, json }]))
}

/** A sync update frame inserting `text` into Y.Text "t" of a fresh doc with this client id. */
export function textUpdate (text: string, clientId = Math.floor(Math.random() * 2 ** 30)): Uint8Array {
  const doc = new Y.Doc()
  doc.clientID = clientId
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

export type ServerMessage =
  | { type: 'sync-step1', payload: Uint8Array }
  | { type: 'sync-step2', payload: Uint8Array }
  | { type: 'update', payload: Uint8Array }
  | { type: 'awareness', payload: Uint8Array }
  | { type: 'ack', count: number }
  | { type: 'session', info: { access: string } }

/**
 * Decode one server frame; throws if it is not exactly one known message
 * (so a test can assert "one message per frame").
 */
export function readServerFrame (frame: Uint8Array): ServerMessage {
  const d = decoding.createDecoder(frame)
  const type = decoding.readVarUint(d)
  let message: ServerMessage
  if (type === 0) {
    const sub = decoding.readVarUint(d)
    const payload = decoding.readVarUint8Array(d)
    const kinds = ['sync-step1', 'sync-step2', 'update'] as const
    if (!(sub in kinds)) throw new Error(`unknown sync type ${sub}`)
    message = { type: kinds[sub], payload }
  } else if (type === 1) {
    message = { type: 'awareness', payload: decoding.readVarUint8Array(d) }
  } else if (type === 100) {
    message = { type: 'ack', count: decoding.readVarUint(d) }
  } else if (type === 101) {
    message = { type: 'session', info: JSON.parse(decoding.readVarString(d)) }
  } else {
    throw new Error(`unknown message type ${type}`)
  }
  if (d.pos !== frame.length) throw new Error(`${frame.length - d.pos} bytes after the ${message.type} message`)
  return message
}

export const isType = (type: ServerMessage['type']) => (f: Uint8Array): boolean => {
  try { return readServerFrame(f).type === type } catch { return false }
}

/** Client ids and states in an awareness payload. */
export function readAwareness (payload: Uint8Array): Map<number, unknown> {
  const d = decoding.createDecoder(payload)
  const states = new Map<number, unknown>()
  const n = decoding.readVarUint(d)
  for (let i = 0; i < n; i++) {
    const id = decoding.readVarUint(d)
    decoding.readVarUint(d)
    states.set(id, JSON.parse(decoding.readVarString(d)))
  }
  return states
}

/** A varUint as bytes, for hand-made frames. */
export function varUint (n: number): number[] {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, n)
  return [...encoding.toUint8Array(e)]
}

/** A Yjs update (v1) that deletes one character at each of `clocks` of `client`, and nothing else. */
export function deleteSetUpdate (client: number, clocks: number[]): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 0) // no structs
  encoding.writeVarUint(e, 1) // one client in the delete set
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, clocks.length)
  for (const clock of clocks) {
    encoding.writeVarUint(e, clock)
    encoding.writeVarUint(e, 1)
  }
  return encoding.toUint8Array(e)
}
