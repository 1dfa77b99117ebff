/**
 * One loaded document: the coordinator of its rooms (docs/architecture.md,
 * "The document"):
 *
 *   update-check.ts    what a client's update may do, and integrating it
 *   write-pipeline.ts  durable before anyone else sees it; acks; gated replies
 *   cold-start.ts      serving the stored bytes until the Y.Doc is built
 *   compaction.ts      when to fold the stored log into a snapshot
 *   presence-relay.ts  who may set which awareness state; coalesced flushes
 *   fan-out.ts         sending updates to the peers, merged into few frames
 *   remote-backlog.ts  other instances' updates, applied when the state is needed
 *   observers.ts       server-side code following its changes and presence
 *
 * It holds the Y.Doc and the peers (connections) on it here, routes their
 * messages, and offers server-side code a direct API (`readState`,
 * `applyUpdate`, `observe`) that does not pretend to be a peer.
 */
import * as Y from 'yjs'
import type { Gauge } from 'prom-client'
import { EMPTY_UPDATE, encodeSyncStep1, isEmptyStateVector, ProtocolError } from '../../common/messages.js'
import { CLOSE, RATE_LIMIT_REASONS } from '../../common/close-codes.js'
import type { Bus, BusSink } from '../backend/bus.js'
import type { DocStore, StoredDoc } from '../backend/store.js'
import { LIMIT, type Limit, type Metrics } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'
import { checkUpdate, deletesOfExisting, integrate, UpdateTooCostly } from './update-check.js'
import { WritePipeline } from './write-pipeline.js'
import { ColdStart, COLD_MIN_BYTES } from './cold-start.js'
import { Compaction } from './compaction.js'
import { PresenceRelay } from './presence-relay.js'
import { DEFAULT_DOCUMENT_LIMITS, type DocumentLimits } from './limits.js'
import type { Peer } from './peer.js'
import { broadcast } from './fan-out.js'
import { RemoteBacklog } from './remote-backlog.js'
import { StateAnswers } from './state-answers.js'
import { DocumentObservers, NO_AUTHORS, type ChangeListener, type ChangeOrigin, type PresenceListener, type PresentState, type UsersListener } from './observers.js'

export type { Peer, DocumentLimits, ChangeListener, ChangeOrigin, PresenceListener, PresentState, UsersListener }

export interface DocumentDeps {
  store: DocStore
  bus: Bus
  metrics: Metrics
  log: Logger
  limits?: DocumentLimits
  /** Stored size from which a loading document starts cold (default COLD_MIN_BYTES; tests lower it). */
  coldMinBytes?: number
}

export class SharedDocument implements BusSink {
  private readonly peers = new Set<Peer>()
  private readonly pipeline: WritePipeline
  private readonly cold: ColdStart
  private readonly compaction: Compaction
  private readonly relay: PresenceRelay
  private readonly limits: DocumentLimits
  private readonly observers: DocumentObservers
  /** The Y.Doc, once warm (see cold-start.ts). */
  private built: Y.Doc | null = null
  /** Answers to sync step 1, cached until the next change. */
  private readonly answers = new StateAnswers()
  /** Other instances' updates relayed but not yet in the Y.Doc (see `ydoc`). */
  private readonly remote: RemoteBacklog
  /** One of: serving; tainted (an update threw half-way in: never served or stored again); destroyed. */
  private life: 'serving' | 'tainted' | 'destroyed' = 'serving'

  constructor (readonly name: string, stored: StoredDoc, private readonly deps: DocumentDeps) {
    this.limits = deps.limits ?? DEFAULT_DOCUMENT_LIMITS
    this.observers = new DocumentObservers(name, deps.log)
    this.remote = new RemoteBacklog((err) => deps.log.error({ err, doc: name }, 'remote update failed to apply'))
    const timers: Gauge = deps.metrics.timersActive
    // The entries after the first (appended since the last snapshot: few and
    // small, the log being compacted often) are parsed now, so that a damaged
    // log fails its load rather than being sent to clients. The snapshot
    // itself is checked when the Y.Doc is built.
    for (let i = 1; i < stored.updates.length; i++) Y.decodeUpdate(stored.updates[i])
    this.compaction = new Compaction(stored, deps.store, name, deps.log)
    this.pipeline = new WritePipeline({
      append: (updates) => deps.store.append(name, updates),
      relay: (updates, except) => broadcast(this.peers, updates, except),
      stored: (updates, position, authors) => {
        this.compaction.noteStored(updates, position)
        this.observers.changed(updates, 'local', authors)
        if (this.compaction.due && this.life === 'serving') void this.compact()
      },
      degraded: (failing, err) => {
        if (failing) {
          deps.metrics.persistFailures.inc()
          deps.log.warn({ err, doc: name }, 'store write failed; relaying live and retrying')
        } else {
          deps.log.info({ doc: name }, 'store reachable again; pending updates persisted')
        }
      },
      persisted: (seconds) => deps.metrics.persistSeconds.observe(seconds),
    }, { maxGatedPerPeer: this.limits.maxGatedPerPeer, timers })
    this.cold = new ColdStart(stored.updates)
    this.relay = new PresenceRelay({
      peers: this.peers,
      limits: this.limits,
      timers,
      publish: (update) => deps.bus.publishAwareness(name, update),
      refused: (limit) => deps.metrics.refusals.inc({ limit }),
      changed: (local) => this.observers.presenceChanged(local),
      flushed: () => this.notifyUsers(),
    })
    deps.metrics.documentsAlive.inc()
    if (stored.bytes < (deps.coldMinBytes ?? COLD_MIN_BYTES)) this.warmUp()
  }

  get isDegraded (): boolean { return this.pipeline.isDegraded }
  get isTainted (): boolean { return this.life === 'tainted' }
  get isCold (): boolean { return this.built === null }
  /** Who is editing it here: the user behind each connection that may write (null in open mode: nobody is verified). */
  get writers (): Array<Peer['user']> { return [...this.peers].filter((p) => p.canWrite).map((p) => p.user) }

  /**
   * The document's Y.Doc, built from the stored entries on first use, with
   * every update other instances sent so far. Throws (after tainting the
   * document, so that nothing is ever stored over what the store holds)
   * when the stored entries do not apply.
   */
  get ydoc (): Y.Doc {
    const ydoc = this.built ?? this.warmUp()
    if (!this.remote.isEmpty) this.remote.applyTo(ydoc, this)
    return ydoc
  }

  /** Build the Y.Doc now (see cold-start.ts). */
  warmUp (): Y.Doc {
    if (this.built) return this.built
    if (this.life === 'tainted') throw new Error(`document ${this.name} is tainted`)
    let ydoc: Y.Doc
    try {
      ydoc = this.cold.build()
    } catch (err) {
      this.deps.log.error({ err, doc: this.name }, 'stored document failed to build')
      this.taint(null)
      throw err
    }
    ydoc.on('update', () => this.answers.clear())
    this.built = ydoc
    return ydoc
  }

  /** warmUp; false when the stored entries did not build (logged, tainted: peers were evicted). */
  private tryWarmUp (): boolean {
    try {
      this.warmUp()
      return true
    } catch {
      return false
    }
  }

  // ---- peers (server/transport/connection.ts) -----------------------------

  addPeer (peer: Peer): void {
    if (this.life === 'tainted') return peer.evict()
    this.peers.add(peer)
    if (this.built) peer.send(encodeSyncStep1(Y.encodeStateVector(this.ydoc)))
    else this.cold.owe(peer)
    this.relay.join(peer)
  }

  removePeer (peer: Peer): void {
    if (!this.peers.delete(peer)) return
    this.pipeline.forget(peer)
    this.cold.forget(peer)
    this.relay.leave(peer)
  }

  handleSyncStep1 (peer: Peer, stateVector: Uint8Array): void {
    const empty = isEmptyStateVector(stateVector)
    if (empty && this.cold.isCold && this.life === 'serving') return this.cold.answer(peer)
    let frame: Uint8Array
    if (empty) {
      frame = this.answers.fullState(this.ydoc)
    } else {
      // Only the client's bytes are checked here: a failure to encode our own
      // state would be our bug, not a reason to blame the client with 4400.
      try {
        Y.decodeStateVector(stateVector)
      } catch {
        throw new ProtocolError('malformed state vector')
      }
      frame = this.answers.diff(this.ydoc, stateVector, (ms) => peer.charge(ms))
    }
    if (!this.pipeline.sendWhenDurable(peer, frame)) this.refuse(peer, LIMIT.gatedReplies, CLOSE.rateLimited, RATE_LIMIT_REASONS.gatedReplies)
  }

  /** A sync step 2 or update message from a peer. */
  handleUpdate (peer: Peer, update: Uint8Array): void {
    // Counted like any update message before it may be refused (acknowledgement
    // counts follow the order messages were sent); a refusal closes the connection.
    if (!peer.canWrite || update.length <= EMPTY_UPDATE.length) return this.pipeline.submit(peer, null)
    let taken: Uint8Array | null
    try {
      taken = this.take(update, peer)
    } catch (err) {
      this.pipeline.refused(peer)
      throw err
    }
    this.pipeline.submit(peer, taken)
  }

  handleAwareness (peer: Peer, update: Uint8Array): void {
    this.relay.receive(peer, update)
  }

  handleQueryAwareness (peer: Peer): void {
    this.relay.query(peer)
  }

  /** A keep-alive is due: the awareness snapshot a new peer is still owed goes instead, when there is one. */
  keepAlive (peer: Peer): boolean {
    return this.relay.sendOwedSnapshot(peer)
  }

  // ---- the direct API (server-side code: the HTTP API, future features) ---

  /** The document as one Yjs update, once everything it holds now is durable. */
  async readState (): Promise<Uint8Array> {
    const state = Y.encodeStateAsUpdate(this.ydoc)
    await this.pipeline.durable()
    return state
  }

  /**
   * Apply a change made on the server; resolves once it is durable (live
   * editors see it then). Throws ProtocolError for an update Yjs refuses,
   * which changes nothing.
   */
  applyUpdate (update: Uint8Array): Promise<void> {
    const taken = this.take(update, null)
    this.pipeline.submit(null, taken)
    return this.pipeline.durable()
  }

  /** Close every connection on it with `code` and `reason` (the document was deleted). */
  end (code: number, reason: string): void {
    for (const peer of [...this.peers]) peer.refuse(code, reason)
  }

  /** Call `listener` with every change once it is durable; returns the unsubscribe. */
  observe (listener: ChangeListener): () => void {
    return this.observers.onChange(listener)
  }

  /**
   * Call `listener` after every presence flush with the states of this
   * instance's clients that changed (the live event stream, server/events/);
   * returns the unsubscribe. Other instances report their own clients.
   */
  onPresence (listener: PresenceListener): () => void {
    return this.observers.onPresence(listener)
  }

  /**
   * Call `listener` with every live awareness state (who is present, here
   * and on other instances) after each presence change goes out, and with
   * none when the document unloads; returns the unsubscribe.
   */
  onUsers (listener: UsersListener): () => void {
    return this.observers.onUsers(listener)
  }

  // ---- from other instances (BusSink) -------------------------------------

  /** Updates another instance stored: relayed at once, into the Y.Doc when needed (remote-backlog.ts). */
  onRemoteUpdates (updates: Uint8Array[]): void {
    if (this.life !== 'serving') return
    // A cold document serves its stored bytes to new peers, which lack these: build it first.
    if (this.built === null && !this.tryWarmUp()) return
    const full = this.remote.add(updates)
    this.answers.clear() // encoded before these
    this.compaction.noteRemote(updates)
    // Already durable: relay at once.
    broadcast(this.peers, updates, null)
    this.observers.changed(updates, 'remote', NO_AUTHORS)
    if (full) this.remote.applyTo(this.built!, this)
  }

  onRemoteAwareness (update: Uint8Array, instance: string): void {
    if (this.life === 'destroyed') return
    try {
      this.relay.receiveRemote(instance, update)
    } catch (err) {
      this.deps.log.warn({ err, doc: this.name }, 'remote awareness update ignored')
    }
  }

  /** Periodic housekeeping: drop outdated awareness states. */
  sweep (now: number): void {
    this.relay.sweep(now)
  }

  // ---- lifecycle ----------------------------------------------------------

  /** Resolves once every update received so far is durable. */
  whenDurable (): Promise<void> {
    return this.pipeline.whenIdle()
  }

  /** Fold the stored log into one snapshot built from the Y.Doc. */
  async compact (): Promise<void> {
    if (this.life === 'tainted') return
    await this.compaction.run(() => Y.encodeStateAsUpdate(this.ydoc))
  }

  /**
   * Unload: compact what is stored (unless `compact` is false: a document
   * whose load did not complete writes nothing), stop every timer, free the Y.Doc.
   */
  async destroy (compact = true): Promise<void> {
    if (this.life === 'destroyed') return
    const wasServing = this.life === 'serving'
    const clean = this.pipeline.isClean
    this.life = 'destroyed'
    this.deps.metrics.documentsAlive.dec()
    this.relay.stop()
    // Nobody is present in an unloaded document (a presence flush still pending never goes out).
    this.notifyUsers([])
    this.pipeline.stop()
    // (A cold document is still built when its unload compacts it.)
    if (compact && wasServing && clean) await this.compaction.run(() => Y.encodeStateAsUpdate(this.ydoc))
    this.cold.stop()
    this.remote.clear()
    this.built?.destroy()
    this.observers.clear()
  }

  // ---- inside -------------------------------------------------------------

  /**
   * Check and integrate an update from `origin` (null: server-side), and
   * return what the Y.Doc took (null: nothing new). Throws ProtocolError
   * when it is refused, having changed nothing.
   */
  private take (update: Uint8Array, origin: Peer | null): Uint8Array | null {
    const checked = checkUpdate(update)
    if ('refused' in checked) throw new ProtocolError('malformed update')
    const ydoc = this.ydoc
    if (checked.cost.deleteRanges > this.limits.maxUpdateDeleteRanges && deletesOfExisting(ydoc, update) > this.limits.maxUpdateDeleteRanges) {
      this.deps.metrics.refusals.inc({ limit: LIMIT.updateDeleteRanges })
      throw new UpdateTooCostly()
    }
    const started = performance.now()
    try {
      return integrate(ydoc, update, origin)
    } catch {
      // Parsed, but Yjs threw half-way in (it has no rollback).
      this.taint(origin)
      throw new ProtocolError('malformed update')
    } finally {
      origin?.charge(performance.now() - started)
    }
  }

  /**
   * An update parsed but Yjs threw while integrating it, after taking part
   * of it: the Y.Doc may now hold half-integrated garbage that other
   * clients' Yjs would choke on. None of it was stored or relayed, so the
   * store still holds a sound document: stop serving this one. Every other
   * peer is evicted (its client reconnects at once), the document unloads
   * once what it acknowledged is durable, without compacting, and the next
   * connection loads it afresh from the store. Rare: only garbage does this.
   */
  private taint (origin: Peer | null): void {
    if (this.life !== 'serving') return
    this.life = 'tainted'
    this.deps.metrics.errors.inc({ kind: 'tainted' })
    this.deps.log.warn({ doc: this.name }, 'an update failed half-way into the document; reloading it from the store')
    this.answers.clear()
    for (const peer of [...this.peers]) if (peer !== origin) peer.evict()
  }

  private refuse (peer: Peer, limit: Limit, code: number, reason: string): void {
    this.deps.metrics.refusals.inc({ limit })
    peer.refuse(code, reason)
  }

  private notifyUsers (present?: PresentState[]): void {
    if (!this.observers.wantsUsers) return
    this.observers.present(present ?? this.relay.presence.live().map(({ clientId, json, remote }) => ({ clientId, json, here: !remote })))
  }
}
