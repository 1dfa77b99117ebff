/**
 * Cold start (docs/architecture.md, "Cold start"). A document loaded from
 * the store is *cold* until its Y.Doc is built: it holds the stored entries
 * as they are and answers clients that arrive with an empty state vector
 * (a fresh page) straight from them. They are durable (nothing undurable
 * exists before the Y.Doc does), so nothing waits.
 *
 * The Y.Doc is built (the document *warms up*) as soon as anything needs it
 * (an edit, a client with content, another instance's update, the HTTP API,
 * compaction), and otherwise WARM_UP_DELAY_MS after the load: building a big
 * document blocks the event loop for hundreds of milliseconds, and waiting
 * lets the burst of readers that follows a restart be answered from the
 * stored bytes first. The cost: the server's own sync step 1 (after which
 * stock clients push their offline edits) comes that much later, and later
 * still while peers' sockets are still sending the stored bytes (up to
 * WARM_UP_MAX_DEFERRALS more delays).
 *
 * Small documents warm up at once (microseconds), so only big ones take
 * this path.
 */
import * as Y from 'yjs'
import type { Gauge } from 'prom-client'
import { EMPTY_UPDATE, encodeSyncStep1, encodeSyncStep2, encodeUpdate } from '../../common/messages.js'
import { TrackedTimer } from '../ops/timers.js'
import type { Peer } from './peer.js'

/** Stored size from which a loaded document starts cold. */
export const COLD_MIN_BYTES = 256 * 1024
export const WARM_UP_DELAY_MS = 300
export const WARM_UP_MAX_DEFERRALS = 40

export interface ColdStartDeps {
  peers: ReadonlySet<Peer>
  timers: Gauge
  /** Build the Y.Doc now (the document's own warm-up, which may taint it). */
  warmUp (): void
}

export class ColdStart {
  /** The stored entries; null once warm. */
  private stored: Uint8Array[] | null
  /** Peers owed the server's sync step 1 (it needs the state vector, hence the Y.Doc). */
  private readonly owed = new Set<Peer>()
  private timer: TrackedTimer | null = null
  private deferrals = 0
  /**
   * The answer's frames, encoded for the first joiner and sent as they are
   * to every later one: a burst of joiners of a big cold document costs one
   * encoding (a copy of the stored bytes), not one per joiner.
   */
  private frames: Uint8Array[] | null = null

  constructor (stored: Uint8Array[], private readonly deps: ColdStartDeps) {
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
    for (const frame of this.frames ??= answerFrames(this.stored!)) peer.send(frame)
    this.scheduleWarmUp()
  }

  /** A peer joined while cold: its step 1 is sent once warm. */
  owe (peer: Peer): void {
    this.owed.add(peer)
    this.scheduleWarmUp()
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
    this.timer?.clear()
    this.timer = null
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
    this.timer?.clear()
    this.timer = null
    this.owed.clear()
    this.stored = null
    this.frames = null
  }

  /** Warm up soon, once the stored bytes have left (see WARM_UP_DELAY_MS). */
  private scheduleWarmUp (): void {
    if (this.stored === null || this.timer) return
    this.timer = new TrackedTimer(this.deps.timers, () => {
      this.timer = null
      if (this.stored === null) return
      let backlog = false
      for (const peer of this.deps.peers) if ((peer.sendBacklog ?? 0) > 0) backlog = true
      if (backlog && this.deferrals++ < WARM_UP_MAX_DEFERRALS) return this.scheduleWarmUp()
      this.deps.warmUp()
    }, WARM_UP_DELAY_MS)
  }
}

/** Every stored entry but the last as a sync update, the last as sync step 2 (see `answer`). */
function answerFrames (updates: Uint8Array[]): Uint8Array[] {
  if (updates.length === 0) return [encodeSyncStep2(EMPTY_UPDATE)]
  return updates.map((update, i) => i < updates.length - 1 ? encodeUpdate(update) : encodeSyncStep2(update))
}
