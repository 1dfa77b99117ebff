/**
 * The awareness update format of y-protocols, read and written without an
 * `Awareness` instance: varUint count, then per client varUint id,
 * varUint clock, varString JSON state ("null" when the client left).
 */
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { ProtocolError } from './errors.js'

export interface AwarenessEntry {
  clientId: number
  clock: number
  /** The state exactly as JSON text; "null" marks a removed client. */
  json: string
}

const MAX_ENTRIES = 100_000

/**
 * Decode an awareness update. With `validate` (the default) every state must
 * be JSON that other clients can parse (an object or null); without it, the
 * caller checks the entries it keeps with `validateState` (a server skips
 * the echoes and forgeries it ignores anyway).
 */
export function decodeAwarenessUpdate (update: Uint8Array, validate = true): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update)
  const entries: AwarenessEntry[] = []
  try {
    const count = decoding.readVarUint(decoder)
    if (count > MAX_ENTRIES) throw new ProtocolError('too many awareness entries')
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(decoder)
      const clock = decoding.readVarUint(decoder)
      const json = decoding.readVarString(decoder)
      if (validate) validateState(json)
      entries.push({ clientId, clock, json })
    }
  } catch (err) {
    if (err instanceof ProtocolError) throw err
    throw new ProtocolError('malformed awareness update')
  }
  if (decoder.pos !== update.length) throw new ProtocolError('trailing bytes in awareness update')
  return entries
}

/** A state other clients cannot parse would break them: JSON of an object, or null. Returns it parsed. */
export function validateState (json: string): Record<string, unknown> | null {
  let state: unknown
  try {
    state = JSON.parse(json)
  } catch {
    throw new ProtocolError('malformed awareness state')
  }
  if (state !== null && (typeof state !== 'object' || Array.isArray(state))) throw new ProtocolError('awareness state is not an object')
  return state as Record<string, unknown> | null
}

export function encodeAwarenessUpdate (entries: Iterable<AwarenessEntry>): Uint8Array {
  const list = Array.isArray(entries) ? entries as AwarenessEntry[] : [...entries]
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, list.length)
  for (const entry of list) writeEntry(encoder, entry)
  return encoding.toUint8Array(encoder)
}

function writeEntry (encoder: encoding.Encoder, { clientId, clock, json }: AwarenessEntry): void {
  encoding.writeVarUint(encoder, clientId)
  encoding.writeVarUint(encoder, clock)
  encoding.writeVarString(encoder, json)
}

/**
 * An awareness update kept as its entries' encodings, so that the same
 * update without some of its entries (a relay never sends a client its own
 * states) costs a copy of bytes rather than encoding every entry again: a
 * flush of k changes owes k of its clients such an update, which re-encoded
 * would cost k² entry encodings.
 */
export class AwarenessEntryBytes {
  private readonly parts: Uint8Array[]

  constructor (private readonly entries: readonly AwarenessEntry[]) {
    this.parts = entries.map((entry) => {
      const encoder = encoding.createEncoder()
      writeEntry(encoder, entry)
      return encoding.toUint8Array(encoder)
    })
  }

  /** The update without the entries of the client ids `skip` holds; null when none is left. */
  without (skip: ReadonlySet<number>): Uint8Array | null {
    let count = 0
    let bytes = 0
    for (let i = 0; i < this.parts.length; i++) {
      if (skip.has(this.entries[i].clientId)) continue
      count++
      bytes += this.parts[i].length
    }
    if (count === 0) return null
    const header = encoding.createEncoder()
    encoding.writeVarUint(header, count)
    const head = encoding.toUint8Array(header)
    const update = new Uint8Array(head.length + bytes)
    update.set(head)
    let pos = head.length
    for (let i = 0; i < this.parts.length; i++) {
      if (skip.has(this.entries[i].clientId)) continue
      update.set(this.parts[i], pos)
      pos += this.parts[i].length
    }
    return update
  }
}
