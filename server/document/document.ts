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
import { decodeAwarenessUpdate } from '../../common/awareness.js'
import { encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate, KEEPALIVE_FRAME, ProtocolError } from '../../common/messages.js'
import type { Bus, BusSink } from '../backend/bus.js'
import type { DocStore, LogPosition, StoredDoc } from '../backend/store.js'
import type { Metrics } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'
import { TrackedTimer } from '../ops/timers.js'

/** A connection as the document sees it. */
export interface Peer {
  readonly canWrite: boolean
  /** Awareness client ids this peer has set (removed when it leaves). */
  readonly clientIds: Set<number>
  /** Bytes sent but not yet handed to the network, when known (a cold document waits for them to leave). */
  readonly sendBacklog?: number
  send (frame: Uint8Array): void
  /** `count` of this peer's update messages are now durable. */
  acknowledge (count: number): void
  /**
   * The document is being reloaded from the store (see `taint`): drop this
   * peer so that its client reconnects and syncs with the reloaded one.
   */
  evict (): void
}

export interface DocumentDeps {
  store: DocStore
  bus: Bus
  metrics: Metrics
  log: Logger
  /** Stored size from which a loading document takes the fast path (default 256 KiB; tests lower it). */
  lazyBuildMinBytes?: number
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
/** Stored size from which a loaded document answers from its stored bytes before building its Y.Doc. */
const LAZY_BUILD_MIN_BYTES = 256 * 1024
/**
 * The Y.Doc of a cold document is built this long after it loaded (at once
 * when something needs it: an edit, a client with content). Building a big
 * document blocks the event loop for hundreds of milliseconds; waiting lets
 * the burst of readers that follows a restart be answered from the stored
 * bytes first, and keeps the build off the CPU while they apply it. The cost:
 * the server's own step 1 (after which stock clients push offline edits)
 * comes this much later.
 */
const MATERIALIZE_DELAY_MS = 300
/** …and put off (up to this many times) while a peer's socket still has the fast answer to send. */
const MATERIALIZE_MAX_DEFERRALS = 40
/** The smallest Yjs update: no structs, empty delete set. */
const EMPTY_DOC_UPDATE = new Uint8Array([0, 0])

export class SharedDocument implements BusSink {
  readonly presence = new Presence()
  readonly peers = new Set<Peer>()
  private readonly updateCounts = new Map<Peer, number>()
  /** Peers that have sent an awareness message (see handleAwareness). */
  private readonly announced = new Set<Peer>()
  /** Awareness client id -> the connections holding its state here (see handleAwareness). */
  private readonly holders = new Map<number, Set<Peer>>()

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
  /** When presence last went out (performance.now()), for the throttle. */
  private lastPresenceFlush = -Infinity
  private idleWaiters: Array<() => void> = []
  private destroyed = false
  /** An update threw half-way into the Y.Doc: it must not be served, stored or compacted any more. */
  private tainted = false

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

  /** The Y.Doc, once built (see `ydoc`). */
  private built: Y.Doc | null = null
  /** The stored entries the Y.Doc is to be built from; null once built. */
  private storedUpdates: Uint8Array[] | null
  /** Peers still owed the server's sync step 1 (it needs the state vector, hence the Y.Doc). */
  private owedStep1 = new Set<Peer>()
  private materializeTimer: TrackedTimer | null = null
  private materializeDeferrals = 0

  constructor (readonly name: string, stored: StoredDoc, private readonly deps: DocumentDeps) {
    this.position = stored.position
    this.logEntries = stored.updates.length
    this.logBytes = stored.bytes
    this.ydocSizeHint = stored.updates.length === 1 ? stored.bytes : 0
    // The entries after the first (updates appended since the last
    // snapshot: few and small, the log being compacted often) are parsed
    // now, so that a damaged log fails its load as before, rather than being
    // sent to clients. The snapshot itself is checked when the Y.Doc is
    // built; a damaged one taints the document then (nothing is stored over it).
    for (let i = 1; i < stored.updates.length; i++) Y.decodeUpdate(stored.updates[i])
    this.storedUpdates = stored.updates
    deps.metrics.awarenessInstances.inc()
    // Small documents build at once (microseconds), so every client gets the
    // server's step 1 first, as usual; only big ones take the fast path.
    if (stored.bytes < (deps.lazyBuildMinBytes ?? LAZY_BUILD_MIN_BYTES)) this.materialize()
  }

  get isDegraded (): boolean { return this.degraded }
  get isTainted (): boolean { return this.tainted }
  get isMaterialized (): boolean { return this.built !== null }

  /**
   * The document's Y.Doc, built from the stored entries on first use. Throws
   * (after tainting the document, so that nothing is ever stored over what
   * the store holds) when the stored entries do not apply.
   */
  get ydoc (): Y.Doc {
    return this.built ?? this.materialize()
  }

  materialize (): Y.Doc {
    this.materializeTimer?.clear()
    this.materializeTimer = null
    if (this.built) return this.built
    // (A destroyed document is still built when its unload compacts it.)
    if (this.tainted) throw new Error(`document ${this.name} is tainted`)
    const ydoc = new Y.Doc()
    try {
      Y.transact(ydoc, () => {
        for (const update of this.storedUpdates!) Y.applyUpdate(ydoc, update)
      })
    } catch (err) {
      ydoc.destroy()
      this.deps.log.error({ err, doc: this.name }, 'stored document failed to build')
      this.taint(null)
      throw err
    }
    ydoc.on('update', (update: Uint8Array) => {
      this.fullStateFrame = null
      this.captured?.push(update)
    })
    this.built = ydoc
    this.storedUpdates = null
    if (this.owedStep1.size > 0) {
      const step1 = encodeSyncStep1(Y.encodeStateVector(ydoc))
      for (const peer of this.owedStep1) peer.send(step1)
      this.owedStep1.clear()
    }
    return ydoc
  }

  /** Build the Y.Doc soon, once the fast answers have left (see MATERIALIZE_DELAY_MS). */
  private scheduleMaterialize (): void {
    if (this.built || this.materializeTimer || this.tainted || this.destroyed) return
    this.materializeTimer = new TrackedTimer(this.deps.metrics.timersActive, () => {
      this.materializeTimer = null
      if (this.built || this.tainted || this.destroyed) return
      let backlog = false
      for (const peer of this.peers) if ((peer.sendBacklog ?? 0) > 0) backlog = true
      if (backlog && this.materializeDeferrals++ < MATERIALIZE_MAX_DEFERRALS) return this.scheduleMaterialize()
      try {
        this.materialize()
      } catch {
        // Logged and tainted by materialize.
      }
    }, MATERIALIZE_DELAY_MS)
  }

  /**
   * Answer a sync step 1 with an empty state vector from the stored entries,
   * without the Y.Doc: they are durable (nothing undurable exists before the
   * Y.Doc is built), so nothing is gated. Every entry but the last goes as a
   * sync update, the last as sync step 2: a stock client reports `synced`
   * on the first step 2, which must come after it has everything.
   */
  private fastReply (peer: Peer): void {
    const updates = this.storedUpdates!
    if (updates.length <= 1) {
      peer.send(this.fullStateFrame ??= encodeSyncStep2(updates[0] ?? EMPTY_DOC_UPDATE))
    } else {
      for (let i = 0; i < updates.length - 1; i++) peer.send(encodeUpdate(updates[i]))
      peer.send(encodeSyncStep2(updates[updates.length - 1]))
    }
    this.scheduleMaterialize()
  }

  addPeer (peer: Peer): void {
    if (this.tainted) return peer.evict()
    this.peers.add(peer)
    this.updateCounts.set(peer, 0)
    if (this.built) {
      peer.send(encodeSyncStep1(Y.encodeStateVector(this.built)))
    } else {
      // Sent once the Y.Doc is built; stock clients push offline edits only then.
      this.owedStep1.add(peer)
      this.scheduleMaterialize()
    }
    const states = this.presence.snapshot()
    if (states) peer.send(encodeAwareness(states))
  }

  removePeer (peer: Peer): void {
    if (!this.peers.delete(peer)) return
    this.updateCounts.delete(peer)
    this.announced.delete(peer)
    this.owedStep1.delete(peer)
    this.gated = this.gated.filter((g) => g.peer !== peer)
    // Everyone else learns at once that its awareness states are gone, but
    // for those another connection holds now (the same client, reconnected
    // before this close was noticed).
    const gone: number[] = []
    for (const id of peer.clientIds) {
      const holders = this.holders.get(id)
      holders?.delete(peer)
      if (!holders?.size) {
        this.holders.delete(id)
        gone.push(id)
      }
    }
    if (this.presence.remove(gone)) this.flushPresence()
  }

  // ---- incoming messages --------------------------------------------------

  handleSyncStep1 (peer: Peer, stateVector: Uint8Array): void {
    let frame: Uint8Array
    const empty = stateVector.length === 1 && stateVector[0] === 0
    if (empty && this.built === null && !this.tainted) return this.fastReply(peer)
    if (empty) {
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
    // Refused, after being counted like any update message (acknowledgement
    // counts follow the order messages were sent); its connection closes.
    if (malformed) throw new ProtocolError('malformed update')
    const entry: QueuedUpdate = { update: stored, origin: peer, originCount, seq: ++this.appliedSeq, relayed: false }
    this.queued.push(entry)
    if (this.degraded && stored) this.relay([entry])
    this.scheduleWrite()
  }

  /**
   * Apply a client's update and return what the Y.Doc took from it, encoded
   * by Yjs, or `malformed` when Yjs refused it. Storing and relaying what Yjs
   * took instead of the client's bytes matters: some garbage applies without
   * error yet makes Y.mergeUpdates throw later (relay, other instances),
   * which Yjs's own encoding never does; and an update that brings nothing
   * new costs no write.
   *
   * The common case is the transaction's update event. When the update left
   * structs or deletions pending (missing dependencies) or made several
   * events, the difference of states since the transaction began is taken
   * instead: it covers pending content too, so an acknowledged update is
   * durable even before its dependencies arrive.
   */
  private integrate (update: Uint8Array, origin: Peer): { stored: Uint8Array | null, malformed: boolean } {
    // Parse and check first, without touching the document: garbage that
    // would make Yjs throw fails here (measured on randomly mutated updates:
    // 99% fail to parse, the rest break the rule checked by
    // `selfReferencesOk`), and then nothing of it goes in. Costs a few µs
    // for a keystroke, about half the apply time for a multi-megabyte update.
    try {
      if (!selfReferencesOk(Y.decodeUpdate(update).structs)) return { stored: null, malformed: true }
    } catch {
      return { stored: null, malformed: true }
    }
    const store = this.ydoc.store
    const pendingStructs = store.pendingStructs?.update ?? null
    const pendingDs = store.pendingDs
    const captured: Uint8Array[] = this.captured = []
    let transaction: Y.Transaction | null = null
    const onTransaction = (tr: Y.Transaction): void => { transaction ??= tr }
    this.ydoc.on('beforeTransaction', onTransaction)
    try {
      Y.applyUpdate(this.ydoc, update, origin)
    } catch {
      this.taint(origin)
      return { stored: null, malformed: true }
    } finally {
      this.captured = null
      this.ydoc.off('beforeTransaction', onTransaction)
    }
    // By content: Yjs re-encodes the pending deletions on every update while some wait.
    const pendingChanged = !sameBytes(pendingStructs, store.pendingStructs?.update ?? null) || !sameBytes(pendingDs, store.pendingDs)
    if (!pendingChanged && captured.length <= 1) return { stored: captured[0] ?? null, malformed: false }
    return { stored: this.changesSince(transaction), malformed: false }
  }

  /** Everything the Y.Doc holds beyond the state at which `transaction` began (with the whole delete set). */
  private changesSince (transaction: Y.Transaction | null): Uint8Array | null {
    const before = transaction === null ? new Uint8Array([0]) : Y.encodeStateVector((transaction as Y.Transaction).beforeState)
    return Y.encodeStateAsUpdate(this.ydoc, before)
  }

  /**
   * An update parsed but Yjs threw while integrating it, after taking part
   * of it (it has no rollback): the Y.Doc may now hold half-integrated
   * garbage that other clients' Yjs would choke on. None of it was stored or
   * relayed, so the store still holds a sound document: stop serving this
   * one. Every other peer is evicted (its client reconnects at once), the
   * document unloads once what it acknowledged is durable, without
   * compacting, and the next connection loads it afresh from the store.
   * Rare: only garbage does this.
   */
  private taint (origin: Peer | null): void {
    if (this.tainted) return
    this.tainted = true
    this.deps.metrics.errors.inc({ kind: 'tainted' })
    this.deps.log.warn({ doc: this.name }, 'an update failed half-way into the document; reloading it from the store')
    this.fullStateFrame = null
    for (const peer of [...this.peers]) if (peer !== origin) peer.evict()
  }

  /**
   * Awareness from a peer. A client's state is set only by the
   * connection(s) holding it: stock clients re-broadcast every state they
   * receive, and a tab relays its sibling tabs' states, so what a connection
   * sends about a client another connection holds is an echo or a relay.
   * Ignoring those is what keeps the clocks Presence shifts straight.
   *
   * A connection holds the states it sets, and those in its first awareness
   * message even when they are not newer: a stock client announces its own
   * state on connect at an unchanged clock, and when it reconnects before its
   * old connection's close is noticed, that announcement changes nothing
   * here, yet the new connection is now the one holding the state.
   */
  handleAwareness (peer: Peer, update: Uint8Array): void {
    const entries = decodeAwarenessUpdate(update)
    const own = entries.filter((e) => {
      const holders = this.holders.get(e.clientId)
      return holders === undefined || holders.has(peer)
    })
    for (const id of this.presence.applyEntries(own, false)) this.hold(peer, id)
    if (!this.announced.has(peer)) {
      this.announced.add(peer)
      for (const e of entries) if (e.json !== 'null') this.hold(peer, e.clientId)
    }
    this.schedulePresenceFlush()
  }

  private hold (peer: Peer, clientId: number): void {
    peer.clientIds.add(clientId)
    let holders = this.holders.get(clientId)
    if (holders === undefined) this.holders.set(clientId, holders = new Set())
    holders.add(peer)
  }

  handleQueryAwareness (peer: Peer): void {
    const states = this.presence.snapshot()
    peer.send(states ? encodeAwareness(states) : KEEPALIVE_FRAME)
  }

  // ---- from other instances (BusSink) -------------------------------------

  onRemoteUpdates (updates: Uint8Array[]): void {
    if (this.destroyed || this.tainted) return
    let ydoc: Y.Doc
    try {
      ydoc = this.ydoc
    } catch {
      return // tainted by materialize; peers were evicted
    }
    const applied: Uint8Array[] = []
    for (const update of updates) {
      try {
        Y.applyUpdate(ydoc, update, this)
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
    return !this.tainted && !this.compacting && this.position !== null && this.logEntries > 1 &&
      (this.logEntries >= COMPACT_ENTRIES || this.logBytes >= Math.max(COMPACT_MIN_BYTES, 2 * this.ydocSizeHint))
  }

  /** Fold the stored log into one snapshot built from the Y.Doc. */
  async compact (): Promise<void> {
    if (this.tainted || this.compacting || this.position === null || this.logEntries <= 1) return
    this.compacting = true
    const through = this.position
    try {
      const snapshot = Y.encodeStateAsUpdate(this.ydoc)
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

  /**
   * Leading-edge throttle: a change flushes at once (on the next timer
   * tick, so one frame still carries everything received meanwhile; with
   * setImmediate instead, the reconnect test of test/protocol.test.ts
   * failed now and then, for a reason not found yet) unless a flush
   * went out within the last window; then it waits for the window's end.
   * Under a storm that gives one flush per window, each carrying many
   * changes in one frame per peer, while a lone change is not held back.
   */
  private schedulePresenceFlush (): void {
    if (this.presenceTimer || this.destroyed) return
    const wait = this.lastPresenceFlush + presenceWindowMs(this.peers.size) - performance.now()
    this.presenceTimer = new TrackedTimer(this.deps.metrics.timersActive, () => {
      this.presenceTimer = null
      this.flushPresence()
    }, Math.max(0, wait))
  }

  private flushPresence (): void {
    this.presenceTimer?.clear()
    this.presenceTimer = null
    const changes = this.presence.flush()
    if (!changes) return
    this.lastPresenceFlush = performance.now()
    const frame = encodeAwareness(changes.all)
    for (const peer of this.peers) {
      if (changes.shifted.size === 0 || ![...peer.clientIds].some((id) => changes.shifted.has(id))) {
        peer.send(frame)
        continue
      }
      // Its own re-announced state, shifted: not for its own client (see Presence).
      const rest = changes.without(peer.clientIds)
      if (rest) peer.send(encodeAwareness(rest))
    }
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
    this.materializeTimer?.clear()
    this.presenceTimer = this.retryTimer = this.materializeTimer = null
    if (compact && !this.degraded && this.queued.length === 0) await this.compact()
    this.presence.clear()
    this.built?.destroy()
    this.storedUpdates = null
    this.owedStep1.clear()
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


/**
 * The presence throttle's window: at most one flush per window. Small rooms
 * are not throttled. In big ones the cost is one frame per peer per flush,
 * so the window grows with the room (7,500 frames/s at 300 connections,
 * which keeps CPU per awareness update at about a fifth of Hocuspocus's),
 * up to 60 ms (17,000 frames/s at 1,000 connections, about 0.2 cores).
 */
export function presenceWindowMs (peers: number): number {
  return peers <= 8 ? 0 : Math.min(60, Math.ceil(peers / 7.5))
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
