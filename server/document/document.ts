/**
 * One loaded document: its Y.Doc, its presence, the peers (connections) on
 * it here, and the write pipeline that makes every update durable before any
 * other client sees it.
 *
 * The path of a local update:
 *   handleUpdate: apply to the Y.Doc (which validates it), queue what Yjs
 *                 integrated, as Yjs encoded it (never the client's bytes)
 *   writeNext:    one store.append per event-loop turn for everything queued
 *   complete:     relay the batch to the other peers as one merged update,
 *                 acknowledge it to its senders, release gated replies
 *
 * A sync step 2 answer can hold updates that are not durable yet, so it is
 * "gated": held back until the write that covers it completes. When the
 * store fails, the document turns degraded: it relays at once (live editing
 * goes on), keeps the unwritten updates in order and retries; nobody is
 * acknowledged until the store has them.
 */
import * as Y from 'yjs'
import { Presence } from './presence.js'
import { encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate, KEEPALIVE_FRAME, ProtocolError } from '../protocol/messages.js'
import type { Bus, BusSink } from '../bus/bus.js'
import type { DocStore, LogPosition, StoredDoc } from '../store/store.js'
import type { Metrics } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'
import { TrackedTimer } from '../ops/timers.js'

/** A connection as the document sees it. */
export interface Peer {
  readonly canWrite: boolean
  /** Awareness client ids this peer has set (removed when it leaves). */
  readonly clientIds: Set<number>
  send (frame: Uint8Array): void
  /** `count` of this peer's update messages are now durable. */
  acknowledge (count: number): void
}

export interface DocumentDeps {
  store: DocStore
  bus: Bus
  metrics: Metrics
  log: Logger
}

interface QueuedUpdate {
  /** Null for messages that change nothing but still need their acknowledgement in order. */
  update: Uint8Array | null
  origin: Peer | null
  /** The origin's running count of update messages, for its acknowledgement. */
  originCount: number
  seq: number
  relayed: boolean
}

/** Compaction thresholds: fold the log once it is this long or this large. */
const COMPACT_ENTRIES = 1000
const COMPACT_MIN_BYTES = 1 << 20
/** Updates merged into one relayed frame at most (Y.mergeUpdates grows faster than linearly). */
const MERGE_CHUNK = 64
const RETRY_MIN_MS = 250
const RETRY_MAX_MS = 5000
/** An update that carries nothing: no structs, empty delete set. */
const EMPTY_UPDATE_BYTES = 2

export class SharedDocument implements BusSink {
  readonly ydoc = new Y.Doc()
  readonly presence = new Presence()
  readonly peers = new Set<Peer>()
  private readonly updateCounts = new Map<Peer, number>()

  private queued: QueuedUpdate[] = []
  private writing = false
  private writeScheduled = false
  private appliedSeq = 0
  private durableSeq = 0
  private gated: Array<{ seq: number, peer: Peer, frame: Uint8Array }> = []
  private degraded = false
  private retryDelay = RETRY_MIN_MS
  private retryTimer: TrackedTimer | null = null
  private presenceTimer: TrackedTimer | null = null
  private idleWaiters: Array<() => void> = []
  private destroyed = false

  /** Log shape since the last snapshot, to decide when to compact. */
  private position: LogPosition | null
  private logEntries: number
  private logBytes: number
  private compacting = false
  /** Encoded size at the last snapshot: the log may grow to twice it before compacting. */
  private ydocSizeHint: number
  /** Cached full state for clients that arrive with an empty state vector. */
  private fullStateFrame: Uint8Array | null = null
  /** While a local update is applied: the updates the Y.Doc emits for it. */
  private captured: Uint8Array[] | null = null

  constructor (readonly name: string, stored: StoredDoc, private readonly deps: DocumentDeps) {
    this.position = stored.position
    this.logEntries = stored.updates.length
    this.logBytes = stored.bytes
    this.ydocSizeHint = stored.updates.length === 1 ? stored.bytes : 0
    Y.transact(this.ydoc, () => {
      for (const update of stored.updates) Y.applyUpdate(this.ydoc, update)
    })
    this.ydoc.on('update', (update: Uint8Array) => {
      this.fullStateFrame = null
      this.captured?.push(update)
    })
    deps.metrics.awarenessInstances.inc()
  }

  get isDegraded (): boolean { return this.degraded }

  addPeer (peer: Peer): void {
    this.peers.add(peer)
    this.updateCounts.set(peer, 0)
    peer.send(encodeSyncStep1(Y.encodeStateVector(this.ydoc)))
    const states = this.presence.snapshot()
    if (states) peer.send(encodeAwareness(states))
  }

  removePeer (peer: Peer): void {
    if (!this.peers.delete(peer)) return
    this.updateCounts.delete(peer)
    this.gated = this.gated.filter((g) => g.peer !== peer)
    // Everyone else learns at once that its awareness states are gone.
    if (this.presence.remove(peer.clientIds)) this.flushPresence()
  }

  // ---- incoming messages --------------------------------------------------

  handleSyncStep1 (peer: Peer, stateVector: Uint8Array): void {
    let frame: Uint8Array
    if (stateVector.length === 1 && stateVector[0] === 0) {
      frame = this.fullStateFrame ??= encodeSyncStep2(Y.encodeStateAsUpdate(this.ydoc))
    } else {
      // Only the client's bytes are checked here: a failure to encode our own
      // state would be our bug, not a reason to blame the client with 4400.
      try {
        Y.decodeStateVector(stateVector)
      } catch {
        throw new ProtocolError('malformed state vector')
      }
      frame = encodeSyncStep2(Y.encodeStateAsUpdate(this.ydoc, stateVector))
    }
    this.sendGated(peer, frame, this.appliedSeq)
  }

  /** A sync step 2 or update message from a peer. */
  handleUpdate (peer: Peer, update: Uint8Array): void {
    const originCount = (this.updateCounts.get(peer) ?? 0) + 1
    this.updateCounts.set(peer, originCount)
    let stored: Uint8Array | null = null
    let malformed = false
    if (peer.canWrite && update.length > EMPTY_UPDATE_BYTES) ({ stored, malformed } = this.integrate(update, peer))
    const entry: QueuedUpdate = { update: stored, origin: peer, originCount, seq: ++this.appliedSeq, relayed: false }
    this.queued.push(entry)
    if (this.degraded && stored) this.relay([entry])
    this.scheduleWrite()
    if (malformed) throw new ProtocolError('malformed update')
  }

  /**
   * Apply a client's update and return what the Y.Doc took from it, encoded
   * by Yjs. Storing and relaying that instead of the client's bytes matters:
   * - Yjs can throw half-way through a garbage update after integrating part
   *   of it; that part is in memory now, so it must be stored and relayed
   *   like any change (memory, store and clients never disagree);
   * - some garbage applies without error yet makes Y.mergeUpdates throw
   *   later (relay, other instances); Yjs's own encoding never does;
   * - an update that brings nothing new costs no write.
   * Structs and deletions Yjs cannot integrate yet (missing dependencies)
   * wait in the doc's pending set (Yjs-encoded, in the V2 format); when this
   * update changed it, the pending set is stored too, so an acknowledged
   * update is durable even before its dependencies arrive.
   */
  private integrate (update: Uint8Array, origin: Peer): { stored: Uint8Array | null, malformed: boolean } {
    const store = this.ydoc.store
    const pendingStructs = store.pendingStructs?.update ?? null
    const pendingDs = store.pendingDs
    const captured: Uint8Array[] = this.captured = []
    let malformed = false
    try {
      Y.applyUpdate(this.ydoc, update, origin)
    } catch {
      malformed = true
    } finally {
      this.captured = null
    }
    try {
      for (const [before, after] of [[pendingStructs, store.pendingStructs?.update ?? null], [pendingDs, store.pendingDs]]) {
        if (after !== null && (before === null || Buffer.compare(before, after) !== 0)) captured.push(Y.convertUpdateFormatV2ToV1(after))
      }
    } catch (err) {
      this.deps.log.warn({ err, doc: this.name }, 'pending structs could not be encoded; they stay in memory only')
    }
    const stored = captured.length === 0 ? null : captured.length === 1 ? captured[0] : Y.mergeUpdates(captured)
    return { stored, malformed }
  }

  handleAwareness (peer: Peer, update: Uint8Array): void {
    for (const id of this.presence.apply(update, false)) peer.clientIds.add(id)
    this.schedulePresenceFlush()
  }

  handleQueryAwareness (peer: Peer): void {
    const states = this.presence.snapshot()
    peer.send(states ? encodeAwareness(states) : KEEPALIVE_FRAME)
  }

  // ---- from other instances (BusSink) -------------------------------------

  onRemoteUpdates (updates: Uint8Array[]): void {
    if (this.destroyed) return
    const applied: Uint8Array[] = []
    for (const update of updates) {
      try {
        Y.applyUpdate(this.ydoc, update, this)
        applied.push(update)
      } catch (err) {
        this.deps.log.error({ err, doc: this.name }, 'remote update failed to apply')
      }
    }
    this.logEntries += applied.length
    for (const u of applied) this.logBytes += u.length
    // Already durable: relay at once.
    this.broadcastUpdates(applied, null)
  }

  onRemoteAwareness (update: Uint8Array): void {
    if (this.destroyed) return
    try {
      this.presence.apply(update, true)
    } catch (err) {
      this.deps.log.warn({ err, doc: this.name }, 'remote awareness update ignored')
      return
    }
    this.schedulePresenceFlush()
  }

  // ---- the write pipeline -------------------------------------------------

  private sendGated (peer: Peer, frame: Uint8Array, seq: number): void {
    if (this.degraded || seq <= this.durableSeq) peer.send(frame)
    else this.gated.push({ seq, peer, frame })
  }

  private scheduleWrite (): void {
    if (this.writing || this.writeScheduled || this.retryTimer) return
    this.writeScheduled = true
    setImmediate(() => {
      this.writeScheduled = false
      this.writeNext()
    })
  }

  private writeNext (): void {
    if (this.writing || this.queued.length === 0) {
      if (!this.writing) this.notifyIdle()
      return
    }
    const batch = this.queued
    this.queued = []
    const updates: Uint8Array[] = []
    for (const q of batch) if (q.update) updates.push(q.update)
    if (updates.length === 0) {
      this.complete(batch)
      return
    }
    this.writing = true
    const started = performance.now()
    this.deps.store.append(this.name, updates).then((result) => {
      this.deps.metrics.persistSeconds.observe((performance.now() - started) / 1000)
      this.position = result.position
      this.logEntries += updates.length
      for (const u of updates) this.logBytes += u.length
      this.writing = false
      this.complete(batch)
    }, (err: unknown) => {
      this.writing = false
      this.fail(batch, err)
    })
  }

  private complete (batch: QueuedUpdate[]): void {
    if (this.degraded) {
      this.degraded = false
      this.deps.log.info({ doc: this.name }, 'store reachable again; pending updates persisted')
    }
    this.retryDelay = RETRY_MIN_MS
    this.durableSeq = batch[batch.length - 1].seq
    this.relay(batch.filter((q) => !q.relayed))
    this.acknowledge(batch)
    this.releaseGated()
    if (this.queued.length > 0) this.scheduleWrite()
    else this.notifyIdle()
    if (this.shouldCompact()) void this.compact()
  }

  private fail (batch: QueuedUpdate[], err: unknown): void {
    this.deps.metrics.persistFailures.inc()
    if (!this.degraded) {
      this.deps.log.warn({ err, doc: this.name }, 'store write failed; relaying live and retrying')
      this.degraded = true
      // Live editing goes on: relay what was held back; acknowledgements wait.
      this.relay(batch.filter((q) => !q.relayed))
      this.relay(this.queued.filter((q) => !q.relayed))
      for (const g of this.gated) g.peer.send(g.frame)
      this.gated = []
    }
    this.queued = batch.concat(this.queued)
    if (this.destroyed) return
    this.retryTimer = new TrackedTimer(this.deps.metrics.timersActive, () => {
      this.retryTimer = null
      this.writeNext()
    }, this.retryDelay)
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS)
  }

  private relay (entries: QueuedUpdate[]): void {
    if (entries.length === 0) return
    for (const e of entries) e.relayed = true
    const withData = entries.filter((e) => e.update !== null)
    if (withData.length === 0) return
    const origins = new Set(withData.map((e) => e.origin))
    if (origins.size === 1) {
      // The common case: one writer this turn; it does not need its own update back.
      this.broadcastUpdates(withData.map((e) => e.update!), withData[0].origin)
      return
    }
    // Several writers: everyone gets everything (Yjs ignores what it already has).
    this.broadcastUpdates(withData.map((e) => e.update!), null)
  }

  /** Send updates to every peer but `except`, merged into as few frames as reasonable. */
  private broadcastUpdates (updates: Uint8Array[], except: Peer | null): void {
    if (updates.length === 0 || this.peers.size === 0) return
    for (let i = 0; i < updates.length; i += MERGE_CHUNK) {
      const chunk = updates.slice(i, i + MERGE_CHUNK)
      for (const update of mergeOrKeep(chunk)) {
        const frame = encodeUpdate(update)
        for (const peer of this.peers) if (peer !== except) peer.send(frame)
      }
    }
  }

  private acknowledge (batch: QueuedUpdate[]): void {
    const counts = new Map<Peer, number>()
    for (const q of batch) if (q.origin) counts.set(q.origin, q.originCount)
    for (const [peer, count] of counts) if (this.peers.has(peer)) peer.acknowledge(count)
  }

  private releaseGated (): void {
    if (this.gated.length === 0) return
    const still: typeof this.gated = []
    for (const g of this.gated) {
      if (g.seq <= this.durableSeq) g.peer.send(g.frame)
      else still.push(g)
    }
    this.gated = still
  }

  private shouldCompact (): boolean {
    return !this.compacting && this.position !== null && this.logEntries > 1 &&
      (this.logEntries >= COMPACT_ENTRIES || this.logBytes >= Math.max(COMPACT_MIN_BYTES, 2 * this.ydocSizeHint))
  }

  /** Fold the stored log into one snapshot built from the Y.Doc. */
  async compact (): Promise<void> {
    if (this.compacting || this.position === null || this.logEntries <= 1) return
    this.compacting = true
    const through = this.position
    const snapshot = Y.encodeStateAsUpdate(this.ydoc)
    try {
      await this.deps.store.compact(this.name, snapshot, through)
      this.logEntries = 1
      this.logBytes = snapshot.length
      this.ydocSizeHint = snapshot.length
    } catch (err) {
      this.deps.log.warn({ err, doc: this.name }, 'compaction failed; will retry later')
    } finally {
      this.compacting = false
    }
  }

  // ---- presence -----------------------------------------------------------

  private schedulePresenceFlush (): void {
    if (this.presenceTimer || this.destroyed) return
    // Small rooms flush at once; big ones coalesce for up to 100 ms so a
    // flush carries many changes in one frame per peer.
    const delay = this.peers.size <= 8 ? 0 : Math.min(100, Math.ceil(this.peers.size / 10))
    this.presenceTimer = new TrackedTimer(this.deps.metrics.timersActive, () => {
      this.presenceTimer = null
      this.flushPresence()
    }, delay)
  }

  private flushPresence (): void {
    this.presenceTimer?.clear()
    this.presenceTimer = null
    const changes = this.presence.flush()
    if (!changes) return
    const frame = encodeAwareness(changes.all)
    for (const peer of this.peers) peer.send(frame)
    if (changes.local) this.deps.bus.publishAwareness(this.name, changes.local)
  }

  /** Periodic housekeeping: drop outdated awareness states. */
  sweep (now: number): void {
    if (this.presence.sweep(now)) this.schedulePresenceFlush()
  }

  // ---- lifecycle ----------------------------------------------------------

  /** Resolves once every update received so far is durable. */
  whenDurable (): Promise<void> {
    if (!this.writing && this.queued.length === 0 && !this.retryTimer) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private notifyIdle (): void {
    if (this.writing || this.queued.length > 0 || this.retryTimer) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }

  /**
   * Unload: compact what is stored (unless `compact` is false: a document
   * whose load did not complete writes nothing), stop every timer, free the Y.Doc.
   */
  async destroy (compact = true): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    this.deps.metrics.awarenessInstances.dec()
    this.presenceTimer?.clear()
    this.retryTimer?.clear()
    this.presenceTimer = this.retryTimer = null
    if (compact && !this.degraded && this.queued.length === 0) await this.compact()
    this.presence.clear()
    this.ydoc.destroy()
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }
}

/**
 * Merge updates into one, or keep them apart if Yjs refuses to merge them:
 * a throw here would stall the write pipeline of the whole document. (Local
 * updates are Yjs-encoded and merge; remote ones come from the store.)
 */
function mergeOrKeep (updates: Uint8Array[]): Uint8Array[] {
  if (updates.length === 1) return updates
  try {
    return [Y.mergeUpdates(updates)]
  } catch {
    return updates
  }
}
