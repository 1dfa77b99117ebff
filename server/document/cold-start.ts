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
 * Y.Doc several times their size, and no build (hundreds of milliseconds of
 * blocked event loop for a big one) competes with the burst of readers
 * that follows a restart.
 *
 * The server's own sync step 1 (after which a client sends what the server
 * lacks) needs the state vector, hence the Y.Doc: a peer is owed it until
 * the build. A client whose own step 1 had an empty state vector had
 * nothing to offer, and sends whatever it does later as updates, so it is
 * owed nothing once answered.
 *
 * Small documents warm up at once (microseconds), so only bigger ones take
 * this path.
 */
import * as Y from 'yjs'
import { EMPTY_UPDATE, encodeSyncStep1, encodeSyncStep2, encodeUpdate } from '../../common/messages.js'
import type { Peer } from './peer.js'

/** Stored size from which a loaded document starts cold. */
export const COLD_MIN_BYTES = 64 * 1024

export class ColdStart {
  /** The stored entries; once answered, views into the frames (the bytes are held once); null once warm. */
  private stored: Uint8Array[] | null
  /**
   * The answer's frames, encoded for the first joiner and sent as they are
   * to every later one: a burst of joiners of a big cold document costs one
   * encoding, not one per joiner.
   */
  private frames: Uint8Array[] | null = null
  /** Peers owed the server's sync step 1. */
  private readonly owed = new Set<Peer>()

  constructor (stored: Uint8Array[]) {
    this.stored = stored
  }

  get isCold (): boolean { return this.stored !== null }

  /**
   * Answer a sync step 1 with an empty state vector from the stored
   * entries. Every entry but the last goes as a sync update, the last as
   * sync step 2: a stock client reports `synced` on the first step 2, which
   * must come after it has everything.
   */
  answer (peer: Peer): void {
    for (const frame of this.frames ??= this.encodeFrames()) peer.send(frame)
    this.owed.delete(peer)
  }

  /** A peer joined while cold: its step 1 is sent once warm, unless it is answered first (see above). */
  owe (peer: Peer): void {
    this.owed.add(peer)
  }

  forget (peer: Peer): void {
    this.owed.delete(peer)
  }

  /**
   * Build the Y.Doc from the stored entries, or throw what Yjs threw (a
   * damaged snapshot; the caller taints the document). Once built, the
   * peers owed a step 1 get it.
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
    this.stored = null
    this.frames = null
    if (this.owed.size > 0) {
      const step1 = encodeSyncStep1(Y.encodeStateVector(ydoc))
      for (const peer of this.owed) peer.send(step1)
      this.owed.clear()
    }
    return ydoc
  }

  stop (): void {
    this.owed.clear()
    this.stored = null
    this.frames = null
  }

  /** The answer's frames; the stored entries become views into them (each ends its frame), so the loaded copies can go. */
  private encodeFrames (): Uint8Array[] {
    const stored = this.stored!
    const frames = answerFrames(stored)
    this.stored = stored.map((entry, i) => frames[i].subarray(frames[i].length - entry.length))
    return frames
  }
}

/** Every stored entry but the last as a sync update, the last as sync step 2 (see `answer`). */
function answerFrames (updates: Uint8Array[]): Uint8Array[] {
  if (updates.length === 0) return [encodeSyncStep2(EMPTY_UPDATE)]
  return updates.map((update, i) => i < updates.length - 1 ? encodeUpdate(update) : encodeSyncStep2(update))
}
