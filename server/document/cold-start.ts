/**
 * Cold start (docs/architecture.md, "Cold start"). A document loaded from
 * the store is *cold* until its Y.Doc is built: it holds the stored entries
 * as they are and answers clients that arrive with an empty state vector
 * (a fresh page) straight from them. They are durable (nothing undurable
 * exists before the Y.Doc does), so nothing waits.
 *
 * The Y.Doc is built (the document *warms up*) only when something needs
 * it: an edit, a client with content, another instance's update, the HTTP
 * API, compaction. Until then the document costs its stored bytes, not a
 * Y.Doc several times their size, and building a big one (hundreds of
 * milliseconds of blocked event loop) is spared to the burst of readers
 * that follows a restart. The server's own sync step 1 (after which stock
 * clients push their offline edits) carries the stored state vector, read
 * from the stored bytes; the reply of a client that has nothing new (a
 * fresh page's: the delete set it was sent) is recognised against the
 * stored state and changes nothing, so it does not warm the document up.
 *
 * Small documents warm up at once (microseconds), so only bigger ones take
 * this path.
 */
import * as Y from 'yjs'
import { EMPTY_UPDATE, encodeSyncStep1, encodeSyncStep2, encodeUpdate } from '../../common/messages.js'
import type { Peer } from './peer.js'

/** Stored size from which a loaded document starts cold. */
export const COLD_MIN_BYTES = 64 * 1024

export interface ColdStartDeps {
  /** Build the Y.Doc now (the document's own warm-up, which may taint it). */
  warmUp (): void
}

/** The stored state, read from the stored bytes without building a Y.Doc. */
interface StoredState {
  step1: Uint8Array
  snapshot: Y.Snapshot
}

export class ColdStart {
  /**
   * The answer's frames, encoded at the load and sent as they are to every
   * joiner: a burst of joiners of a big cold document costs one encoding,
   * not one per joiner. Null once warm.
   */
  private frames: Uint8Array[] | null
  /** The stored entries: views into the frames (the bytes are held once); null once warm. */
  private stored: Uint8Array[] | null
  private state: StoredState | null = null

  constructor (stored: Uint8Array[], private readonly deps: ColdStartDeps) {
    const frames = answerFrames(stored)
    this.frames = frames
    // Each entry ends its frame; the loaded copies can go.
    this.stored = stored.map((entry, i) => frames[i].subarray(frames[i].length - entry.length))
  }

  get isCold (): boolean { return this.stored !== null }

  /**
   * Answer a sync step 1 with an empty state vector from the stored
   * entries. Every entry but the last goes as a sync update, the last as
   * sync step 2: a stock client reports `synced` on the first step 2, which
   * must come after it has everything.
   */
  answer (peer: Peer): void {
    for (const frame of this.frames!) peer.send(frame)
  }

  /**
   * A peer joined while cold: send it the server's sync step 1 with the
   * stored state vector. Stored entries that cannot be read warm the
   * document up, which finds them damaged and taints it.
   */
  greet (peer: Peer): void {
    const state = this.readState()
    if (state !== null) peer.send(state.step1)
    else queueMicrotask(() => this.deps.warmUp())
  }

  /**
   * Whether `update` adds nothing to the stored state (every struct and
   * every deletion in it is stored already), so it needs no Y.Doc. False
   * for anything unreadable: the write path judges it.
   */
  holds (update: Uint8Array): boolean {
    const state = this.readState()
    if (state === null) return false
    try {
      return Y.snapshotContainsUpdate(state.snapshot, update)
    } catch {
      return false
    }
  }

  /**
   * Build the Y.Doc from the stored entries, or throw what Yjs threw (a
   * damaged snapshot; the caller taints the document).
   */
  build (): Y.Doc {
    const ydoc = new Y.Doc()
    try {
      Y.transact(ydoc, () => {
        for (const update of this.stored!) Y.applyUpdate(ydoc, update)
      })
    } catch (err) {
      ydoc.destroy()
      throw err
    }
    this.stop()
    return ydoc
  }

  stop (): void {
    this.stored = null
    this.frames = null
    this.state = null
  }

  /** The stored state vector and delete set, read once (null: the entries are damaged, or warm). */
  private readState (): StoredState | null {
    if (this.state !== null || this.stored === null) return this.state
    try {
      const merged = this.stored.length === 0 ? EMPTY_UPDATE : this.stored.length === 1 ? this.stored[0] : Y.mergeUpdates(this.stored)
      const stateVector = Y.encodeStateVectorFromUpdate(merged)
      // Without the structs the state vector covers, what is left is the delete set.
      const { ds } = Y.decodeUpdate(Y.diffUpdate(merged, stateVector))
      this.state = { step1: encodeSyncStep1(stateVector), snapshot: Y.createSnapshot(ds, Y.decodeStateVector(stateVector)) }
    } catch {
      return null
    }
    return this.state
  }
}

/** Every stored entry but the last as a sync update, the last as sync step 2 (see `answer`). */
function answerFrames (updates: Uint8Array[]): Uint8Array[] {
  if (updates.length === 0) return [encodeSyncStep2(EMPTY_UPDATE)]
  return updates.map((update, i) => i < updates.length - 1 ? encodeUpdate(update) : encodeSyncStep2(update))
}
