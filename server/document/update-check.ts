/**
 * Validating a client's update and integrating it into a Y.Doc, so that
 * what is stored and relayed is what Yjs took, as Yjs encodes it, never the
 * client's bytes (docs/architecture.md, "Invariants").
 *
 * Why not the client's bytes: some garbage applies without error yet makes
 * Y.mergeUpdates throw later (relay, other instances), which Yjs's own
 * encoding never does; and an update that brings nothing new then costs no
 * write.
 */
import * as Y from 'yjs'
import { EMPTY_STATE_VECTOR, ProtocolError } from '../../common/messages.js'
import { CLOSE } from '../../common/close-codes.js'

/** Why an update was refused before it touched the document. */
export type Refusal = 'malformed' | 'too-costly'

export interface UpdateCost {
  /** Structs (items, GC, skips) the update carries. */
  structs: number
  /** Deleted ranges: each may split an item in two (heap and time beyond the update's size). */
  deleteRanges: number
}

/**
 * Parse and check an update without touching any document. Garbage that
 * would make Yjs throw half-way fails here (measured on randomly mutated
 * updates: 99% fail to parse, the rest break the rule `selfReferencesOk`
 * checks), and then nothing of it goes in. Costs a few µs for a keystroke,
 * about half the apply time for a multi-megabyte update.
 */
export function checkUpdate (update: Uint8Array): { cost: UpdateCost } | { refused: Refusal } {
  let decoded: ReturnType<typeof Y.decodeUpdate>
  try {
    decoded = Y.decodeUpdate(update)
  } catch {
    return { refused: 'malformed' }
  }
  if (!selfReferencesOk(decoded.structs)) return { refused: 'malformed' }
  let deleteRanges = 0
  for (const ranges of decoded.ds.clients.values()) deleteRanges += ranges.length
  return { cost: { structs: decoded.structs.length, deleteRanges } }
}

/**
 * How many of an update's delete ranges fall on content `ydoc` already has:
 * each may split an item in two, so their cost (heap, time) is far beyond
 * their size (docs/security.md, "Limits"). Ranges on the update's own new
 * content cost nothing of the kind.
 */
export function deletesOfExisting (ydoc: Y.Doc, update: Uint8Array): number {
  let existing = 0
  for (const [client, ranges] of Y.decodeUpdate(update).ds.clients) {
    const known = Y.getState(ydoc.store, client)
    for (const range of ranges) if (range.clock < known) existing++
  }
  return existing
}

/**
 * Apply a checked update and return what the Y.Doc took from it, encoded by
 * Yjs (null when it brought nothing), or throw what Yjs threw.
 *
 * The common case is the transaction's update event. When the update left
 * structs or deletions pending (missing dependencies) or made several
 * events, the difference of states since the transaction began is taken
 * instead: it covers pending content too, so an acknowledged update is
 * durable even before its dependencies arrive.
 */
export function integrate (ydoc: Y.Doc, update: Uint8Array, origin: unknown): Uint8Array | null {
  const store = ydoc.store
  const pendingStructs = store.pendingStructs?.update ?? null
  const pendingDs = store.pendingDs
  const captured: Uint8Array[] = []
  let transaction: Y.Transaction | null = null
  const onTransaction = (tr: Y.Transaction): void => { transaction ??= tr }
  const onUpdate = (u: Uint8Array): void => { captured.push(u) }
  ydoc.on('beforeTransaction', onTransaction)
  ydoc.on('update', onUpdate)
  try {
    Y.applyUpdate(ydoc, update, origin)
  } finally {
    ydoc.off('beforeTransaction', onTransaction)
    ydoc.off('update', onUpdate)
  }
  // By content: Yjs re-encodes the pending deletions on every update while some wait.
  const pendingChanged = !sameBytes(pendingStructs, store.pendingStructs?.update ?? null) || !sameBytes(pendingDs, store.pendingDs)
  if (!pendingChanged && captured.length <= 1) return captured[0] ?? null
  const before = transaction === null ? EMPTY_STATE_VECTOR : Y.encodeStateVector((transaction as Y.Transaction).beforeState)
  return Y.encodeStateAsUpdate(ydoc, before)
}

const sameBytes = (a: Uint8Array | null, b: Uint8Array | null): boolean =>
  a === b || (a !== null && b !== null && Buffer.compare(a, b) === 0)

/**
 * Yjs assumes an item refers to items of its own client only at earlier
 * clocks (its neighbours and parent existed when it was made) and skips the
 * missing-dependency check for those; an item that breaks this crashes it
 * half-way through integrating, and such data, once in, may not even replay
 * from the store. Honest updates always keep the rule.
 */
function selfReferencesOk (structs: Array<Y.Item | Y.GC | Y.Skip>): boolean {
  for (const s of structs) {
    if (!(s instanceof Y.Item)) continue
    const { client, clock } = s.id
    const parent = s.parent instanceof Y.ID ? s.parent : null
    for (const ref of [s.origin, s.rightOrigin, parent]) {
      if (ref !== null && ref.client === client && ref.clock >= clock) return false
    }
  }
  return true
}

/** An update whose cost is far beyond its size (docs/security.md, "Limits"): 4413. */
export class UpdateTooCostly extends ProtocolError {
  constructor () { super('update too costly to apply', CLOSE.tooLarge) }
}
