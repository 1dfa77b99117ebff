/**
 * The wire format (docs/protocol.md): y-protocols messages, one per
 * WebSocket frame, plus Quire's extensions (types 100 and 101), which go only
 * to clients that connect with `?ack=1`. Encoders return ready-to-send
 * frames; the decoder turns a client frame into a typed message or throws
 * ProtocolError (the server closes with 4400).
 *
 * No Node imports: the server, the browser provider and the benchmark's
 * clients all use this one definition.
 */
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { ProtocolError } from './errors.js'

export { ProtocolError }

export const MESSAGE_SYNC = 0
export const MESSAGE_AWARENESS = 1
export const MESSAGE_AUTH = 2
export const MESSAGE_QUERY_AWARENESS = 3
/**
 * Quire extension, sent only to clients that connect with `?ack=1`:
 * varUint count of this connection's update-carrying messages now durable.
 */
export const MESSAGE_QUIRE_ACK = 100

export const SYNC_STEP1 = 0
export const SYNC_STEP2 = 1
export const SYNC_UPDATE = 2

export type ClientMessage =
  | { type: 'sync-step1', stateVector: Uint8Array }
  | { type: 'sync-step2', update: Uint8Array }
  | { type: 'update', update: Uint8Array }
  | { type: 'awareness', update: Uint8Array }
  | { type: 'auth' }
  | { type: 'query-awareness' }

/** Decode one client frame; everything in it must be consumed. */
export function decodeMessage (frame: Uint8Array): ClientMessage {
  const decoder = decoding.createDecoder(frame)
  let message: ClientMessage
  try {
    const type = decoding.readVarUint(decoder)
    switch (type) {
      case MESSAGE_SYNC: {
        const sub = decoding.readVarUint(decoder)
        const payload = readPayload(decoder)
        if (sub === SYNC_STEP1) message = { type: 'sync-step1', stateVector: payload }
        else if (sub === SYNC_STEP2) message = { type: 'sync-step2', update: payload }
        else if (sub === SYNC_UPDATE) message = { type: 'update', update: payload }
        else throw new ProtocolError(`unknown sync message type ${sub}`)
        break
      }
      case MESSAGE_AWARENESS:
        message = { type: 'awareness', update: readPayload(decoder) }
        break
      case MESSAGE_AUTH:
        // Clients have nothing to say here; accept and skip the content.
        decoder.pos = frame.length
        message = { type: 'auth' }
        break
      case MESSAGE_QUERY_AWARENESS:
        message = { type: 'query-awareness' }
        break
      default:
        throw new ProtocolError(`unknown message type ${type}`)
    }
  } catch (err) {
    if (err instanceof ProtocolError) throw err
    throw new ProtocolError('truncated or malformed message')
  }
  if (decoder.pos !== frame.length) throw new ProtocolError('trailing bytes after message')
  return message
}

function readPayload (decoder: decoding.Decoder): Uint8Array {
  const len = decoding.readVarUint(decoder)
  if (len > decoder.arr.length - decoder.pos) throw new ProtocolError('length prefix beyond end of frame')
  return decoding.readUint8Array(decoder, len)
}

function frame (write: (e: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

export const encodeSyncStep1 = (stateVector: Uint8Array): Uint8Array => frame((e) => {
  encoding.writeVarUint(e, MESSAGE_SYNC)
  encoding.writeVarUint(e, SYNC_STEP1)
  encoding.writeVarUint8Array(e, stateVector)
})

export const encodeSyncStep2 = (update: Uint8Array): Uint8Array => frame((e) => {
  encoding.writeVarUint(e, MESSAGE_SYNC)
  encoding.writeVarUint(e, SYNC_STEP2)
  encoding.writeVarUint8Array(e, update)
})

export const encodeUpdate = (update: Uint8Array): Uint8Array => frame((e) => {
  encoding.writeVarUint(e, MESSAGE_SYNC)
  encoding.writeVarUint(e, SYNC_UPDATE)
  encoding.writeVarUint8Array(e, update)
})

export const encodeAwareness = (update: Uint8Array): Uint8Array => frame((e) => {
  encoding.writeVarUint(e, MESSAGE_AWARENESS)
  encoding.writeVarUint8Array(e, update)
})

export const encodeAck = (count: number): Uint8Array => frame((e) => {
  encoding.writeVarUint(e, MESSAGE_QUIRE_ACK)
  encoding.writeVarUint(e, count)
})

/** The smallest Yjs update: no structs, empty delete set. */
export const EMPTY_UPDATE: Uint8Array = new Uint8Array([0, 0])
/** The state vector of an empty document (also what a fresh client sends in its step 1). */
export const EMPTY_STATE_VECTOR: Uint8Array = new Uint8Array([0])
/** An awareness update with no entries. */
export const EMPTY_AWARENESS_UPDATE: Uint8Array = new Uint8Array([0])

export function isEmptyStateVector (stateVector: Uint8Array): boolean {
  return stateVector.length === 1 && stateVector[0] === 0
}

/** An awareness update with no entries: harmless to stock clients, keeps them from timing out. */
export const KEEPALIVE_FRAME = encodeAwareness(EMPTY_AWARENESS_UPDATE)

/** "Send me every awareness state you hold." */
export const QUERY_AWARENESS_FRAME = frame((e) => encoding.writeVarUint(e, MESSAGE_QUERY_AWARENESS))

/**
 * Quire extension, sent only to `?ack=1` clients right after the upgrade:
 * varString JSON `{ access: "write" | "read" }`, so the editor can turn
 * read-only instead of letting its user type into the void.
 */
export const MESSAGE_QUIRE_SESSION = 101

export const encodeSession = (info: { access: 'write' | 'read' }): Uint8Array => frame((e) => {
  encoding.writeVarUint(e, MESSAGE_QUIRE_SESSION)
  encoding.writeVarString(e, JSON.stringify(info))
})
