/**
 * The write pipeline of one document: every update becomes durable before
 * any other client sees it (docs/architecture.md, "The path of one update").
 *
 *   submit:   an integrated update (or a message that brought nothing, which
 *             still needs its acknowledgement in order) joins the queue
 *   write:    one store.append per event-loop turn for everything queued
 *   complete: relay the batch to the other peers, acknowledge it to its
 *             senders, release the replies that were waiting for it
 *
 * A sync step 2 answer can hold updates that are not durable yet, so it is
 * *gated*: held back until the write that covers it completes.
 *
 * When the store fails, the pipeline is *degraded* (docs/architecture.md,
 * "When the store fails"): it relays at once so live editing goes on, sends
 * gated replies at once, keeps the unwritten updates in order and retries
 * with backoff; nobody is acknowledged until the store has them.
 */
import type { Gauge } from 'prom-client'
import type { AppendResult } from '../backend/store.js'
import { Backoff, STORE_RETRY } from '../ops/backoff.js'
import type { Peer } from './peer.js'

/** Where the pipeline is in its cycle: exactly one of these at a time. */
export type Phase =
  /** Nothing queued or in flight. */
  | 'idle'
  /** A write is due at the end of this turn. */
  | 'scheduled'
  /** An append is in flight. */
  | 'writing'
  /** An append failed; the next try is on a timer. */
  | 'backing-off'
  /** The document unloaded: nothing more is written. */
  | 'stopped'

interface Entry {
  /** Null for messages that change nothing but still need their acknowledgement in order. */
  update: Uint8Array | null
  /** The peer to acknowledge, or null for a server-side change. */
  origin: Peer | null
  /** The origin's running count of update messages, for its acknowledgement. */
  originCount: number
  seq: number
  relayed: boolean
}

interface Gated { seq: number, peer: Peer, frame: Uint8Array }
interface DurableWaiter { seq: number, resolve: () => void }

export interface PipelineHooks {
  append (updates: Uint8Array[]): Promise<AppendResult>
  /** Send updates to every peer but `except`. */
  relay (updates: Uint8Array[], except: Peer | null): void
  /**
   * A batch is durable (compaction accounting, observers); `authors`: who
   * made its updates (a peer, or null for a server-side change).
   */
  stored (updates: Uint8Array[], position: string, authors: ReadonlySet<Peer | null>): void
  /** The store failed (true) or came back (false). */
  degraded (failing: boolean, err?: unknown): void
  /** Seconds an append took. */
  persisted (seconds: number): void
}

export interface PipelineOptions {
  /** Replies a peer may have waiting for durability before it is refused (a budget). */
  maxGatedPerPeer: number
  timers: Gauge
}

export class WritePipeline {
  private phase: Phase = 'idle'
  private failing = false
  private queued: Entry[] = []
  /** Seq of the last submitted entry, and of the last one that carried data. */
  private appliedSeq = 0
  private dataSeq = 0
  private durableSeq = 0
  private gated: Gated[] = []
  private readonly gatedPerPeer = new Map<Peer, number>()
  private durableWaiters: DurableWaiter[] = []
  private idleWaiters: Array<() => void> = []
  /** Update messages received per peer: acknowledgements count them in order. */
  private readonly counts = new Map<Peer, number>()
  /** Retries of a failed append: 250 ms doubling to 5 s. */
  private readonly retry: Backoff

  constructor (private readonly hooks: PipelineHooks, private readonly opts: PipelineOptions) {
    this.retry = new Backoff(opts.timers, STORE_RETRY)
  }

  get isDegraded (): boolean { return this.failing }
  get state (): Phase { return this.phase }

  /**
   * An update message from `origin` (null: a server-side change), with what
   * the document took from it (null: nothing to store).
   */
  submit (origin: Peer | null, update: Uint8Array | null): void {
    if (this.phase === 'stopped') return
    let originCount = 0
    if (origin !== null) {
      originCount = (this.counts.get(origin) ?? 0) + 1
      this.counts.set(origin, originCount)
    }
    const entry: Entry = { update, origin, originCount, seq: ++this.appliedSeq, relayed: false }
    if (update !== null) this.dataSeq = entry.seq
    this.queued.push(entry)
    if (this.failing && update !== null) this.relay([entry])
    this.schedule()
  }

  /** A message of `origin`'s that was refused: it counts, but is never acknowledged (its connection closes). */
  refused (origin: Peer): void {
    this.counts.set(origin, (this.counts.get(origin) ?? 0) + 1)
  }

  /**
   * Send `frame` (which holds everything applied so far) once what it holds
   * is durable. False when the peer already has too many replies waiting.
   */
  sendWhenDurable (peer: Peer, frame: Uint8Array): boolean {
    if (this.failing || this.dataSeq <= this.durableSeq) {
      peer.send(frame)
      return true
    }
    const waiting = this.gatedPerPeer.get(peer) ?? 0
    if (waiting >= this.opts.maxGatedPerPeer) return false
    this.gatedPerPeer.set(peer, waiting + 1)
    this.gated.push({ seq: this.dataSeq, peer, frame })
    return true
  }

  /** Resolves once everything applied so far is durable (not before, even when degraded). */
  durable (): Promise<void> {
    if (this.dataSeq <= this.durableSeq || this.phase === 'stopped') return Promise.resolve()
    return new Promise((resolve) => this.durableWaiters.push({ seq: this.dataSeq, resolve }))
  }

  /** Resolves once nothing is queued, in flight or waiting to be retried. */
  whenIdle (): Promise<void> {
    if (this.isIdle) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  get isIdle (): boolean {
    return this.phase === 'idle' || this.phase === 'stopped'
  }

  /** Nothing written and nothing failing: safe to compact on unload. */
  get isClean (): boolean {
    return !this.failing && this.queued.length === 0
  }

  /** The peer left: drop what waits for it. */
  forget (peer: Peer): void {
    this.counts.delete(peer)
    if (this.gatedPerPeer.delete(peer)) this.gated = this.gated.filter((g) => g.peer !== peer)
  }

  /** The document unloads: no more writes or retries; whoever waits is released. */
  stop (): void {
    this.phase = 'stopped'
    this.retry.cancel()
    this.releaseIdle()
    for (const w of this.durableWaiters.splice(0)) w.resolve()
  }

  private schedule (): void {
    if (this.phase !== 'idle') return
    this.phase = 'scheduled'
    setImmediate(() => {
      if (this.phase === 'scheduled') this.write()
    })
  }

  private write (): void {
    if (this.queued.length === 0) {
      this.phase = 'idle'
      this.releaseIdle()
      return
    }
    const batch = this.queued
    this.queued = []
    const updates: Uint8Array[] = []
    const origins: Array<Peer | null> = []
    for (const q of batch) {
      if (q.update === null) continue
      updates.push(q.update)
      origins.push(q.origin)
    }
    if (updates.length === 0) {
      this.complete(batch)
      return
    }
    this.phase = 'writing'
    const started = performance.now()
    this.hooks.append(updates).then((result) => {
      this.hooks.persisted((performance.now() - started) / 1000)
      if (this.phase === 'stopped') return
      this.hooks.stored(updates, result.position, new Set(origins))
      this.complete(batch)
    }, (err: unknown) => {
      if (this.phase === 'stopped') return
      this.fail(batch, err)
    })
  }

  private complete (batch: Entry[]): void {
    if (this.failing) {
      this.failing = false
      this.hooks.degraded(false)
    }
    this.retry.reset()
    this.durableSeq = batch[batch.length - 1].seq
    this.relay(batch.filter((q) => !q.relayed))
    this.acknowledge(batch)
    this.releaseGated()
    this.phase = 'idle'
    if (this.queued.length > 0) this.schedule()
    else this.releaseIdle()
  }

  private fail (batch: Entry[], err: unknown): void {
    if (!this.failing) {
      this.failing = true
      this.hooks.degraded(true, err)
      // Live editing goes on: relay what was held back; acknowledgements wait.
      this.relay(batch.filter((q) => !q.relayed))
      this.relay(this.queued.filter((q) => !q.relayed))
      for (const g of this.gated) g.peer.send(g.frame)
      this.gated = []
      this.gatedPerPeer.clear()
    }
    this.queued = batch.concat(this.queued)
    this.phase = 'backing-off'
    this.retry.schedule(() => this.write())
  }

  private relay (entries: Entry[]): void {
    if (entries.length === 0) return
    for (const e of entries) e.relayed = true
    const withData = entries.filter((e) => e.update !== null)
    if (withData.length === 0) return
    const origin = withData[0].origin
    // One writer in the batch (the common case) does not need its own updates
    // back; with several, everyone gets everything (Yjs ignores what it has).
    const single = origin !== null && withData.every((e) => e.origin === origin)
    this.hooks.relay(withData.map((e) => e.update!), single ? origin : null)
  }

  private acknowledge (batch: Entry[]): void {
    const counts = new Map<Peer, number>()
    for (const q of batch) if (q.origin) counts.set(q.origin, q.originCount)
    for (const [peer, count] of counts) if (this.counts.has(peer)) peer.acknowledge(count)
  }

  private releaseGated (): void {
    if (this.gated.length > 0) {
      const still: Gated[] = []
      for (const g of this.gated) {
        if (g.seq > this.durableSeq) {
          still.push(g)
          continue
        }
        g.peer.send(g.frame)
        const left = (this.gatedPerPeer.get(g.peer) ?? 1) - 1
        if (left > 0) this.gatedPerPeer.set(g.peer, left)
        else this.gatedPerPeer.delete(g.peer)
      }
      this.gated = still
    }
    if (this.durableWaiters.length > 0) {
      const still: DurableWaiter[] = []
      for (const w of this.durableWaiters) {
        if (w.seq <= this.durableSeq) w.resolve()
        else still.push(w)
      }
      this.durableWaiters = still
    }
  }

  private releaseIdle (): void {
    for (const w of this.idleWaiters.splice(0)) w()
  }
}
