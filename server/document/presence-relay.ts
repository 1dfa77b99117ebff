/**
 * The presence relay of one document: who may set which awareness state,
 * and sending the coalesced changes to the peers here and to the other
 * instances (docs/architecture.md, "Presence"; docs/security.md, "Presence").
 *
 * Ownership. Awareness client ids are chosen by clients, so the server
 * decides who may speak for one: an id is owned by the first connection (on
 * any instance) that announced it while nobody held it, until that
 * connection closes or removes it. Anything else a connection sends about
 * an id is an echo (stock clients re-broadcast every state they receive) or
 * a forgery, and is ignored. States from another instance may be changed
 * only by that instance.
 *
 * Reconnects. A client that reconnects before its old connection's close is
 * noticed announces an id its old connection still owns. When that comes in
 * its first awareness message, before it was sent any state (so it cannot be
 * an echo), and the same user is behind it, it is kept as a *claim*; when the owner goes,
 * the newest claim takes the id over at once (its state is shown), so the
 * user's presence does not blink.
 *
 * Nothing goes back to its own client. A client's y-protocols Awareness
 * adopts any state for its own id with a higher clock as its local state,
 * so a connection is never sent the states of the ids it announced, and the
 * snapshot a new connection receives waits for its first announcement (or
 * SNAPSHOT_WAIT_MS) so that its own ids can be left out of it.
 *
 * Identity. With auth on, `user.id` and `user.name` in a state are replaced
 * by the connection's token identity (docs/auth.md, "Presence").
 *
 * Pace. A change flushes at once unless a flush went out within the
 * last window; then at the window's end, merged with what else came, so
 * under a storm one frame per peer carries many changes. The window adapts
 * to what a flush costs (presence-pace.ts).
 */
import type { Gauge } from 'prom-client'
import { AwarenessEntryBytes, decodeAwarenessUpdate, validateState, type AwarenessEntry } from '../../common/awareness.js'
import { CLOSE, RATE_LIMIT_REASONS } from '../../common/close-codes.js'
import { encodeAwareness, KEEPALIVE_FRAME } from '../../common/messages.js'
import { TrackedTimer } from '../ops/timers.js'
import { LIMIT, type Limit } from '../ops/metrics.js'
import { Presence } from './presence.js'
import { PresencePace, processCpuMs } from './presence-pace.js'
import type { Peer } from './peer.js'

/** A new connection that has not announced itself gets the snapshot after this long anyway. */
export const SNAPSHOT_WAIT_MS = 250

export interface PresenceLimits {
  /** Awareness client ids one connection may own. */
  maxClientIdsPerConnection: number
  /** Bytes of one awareness state (its JSON text). */
  maxStateBytes: number
  /** Live awareness states in one document. */
  maxStatesPerDocument: number
}

export const DEFAULT_PRESENCE_LIMITS: PresenceLimits = {
  maxClientIdsPerConnection: 8,
  maxStateBytes: 8 * 1024,
  maxStatesPerDocument: 10_000,
}

export interface PresenceRelayDeps {
  peers: ReadonlySet<Peer>
  limits: PresenceLimits
  timers: Gauge
  /** Awareness of this instance's clients, for the other instances. */
  publish (update: Uint8Array): void
  /** A budget was hit (the `limit` label of quire_limit_refusals_total). */
  refused (limit: Limit): void
  /** CPU time of the process in ms, for the pace (tests give their own). */
  cpuMs?: () => number
  /** After a flush: the states of this instance's clients that changed ("null": gone). */
  changed? (local: AwarenessEntry[]): void
  /** Presence changed and the change went out (who is present: SharedDocument.onUsers). */
  flushed?: () => void
}

interface Claim { peer: Peer, entry: AwarenessEntry }

export class PresenceRelay {
  readonly presence = new Presence()
  /** Client id -> the local connection that owns it. */
  private readonly owners = new Map<number, Peer>()
  /** Client id -> the instance that owns it, for states from elsewhere. */
  private readonly remoteOwners = new Map<number, string>()
  /** Client id -> announcements waiting for the owner to go (reconnects). */
  private readonly claims = new Map<number, Claim[]>()
  /** Ids each connection announced, owned or claimed: never sent back to it. */
  private readonly announced = new Map<Peer, Set<number>>()
  /** Connections still owed the snapshot, with the timer that sends it anyway. */
  private readonly owedSnapshot = new Map<Peer, TrackedTimer>()
  private timer: TrackedTimer | null = null
  private readonly pace = new PresencePace()
  private readonly cpuMs: () => number
  private stopped = false

  constructor (private readonly deps: PresenceRelayDeps) {
    this.cpuMs = deps.cpuMs ?? processCpuMs
  }

  join (peer: Peer): void {
    this.owedSnapshot.set(peer, new TrackedTimer(this.deps.timers, () => this.sendSnapshot(peer), SNAPSHOT_WAIT_MS))
  }

  leave (peer: Peer): void {
    this.owedSnapshot.get(peer)?.clear()
    this.owedSnapshot.delete(peer)
    const ids = this.announced.get(peer)
    this.announced.delete(peer)
    if (ids === undefined) return
    const gone: number[] = []
    let changed = false
    for (const id of ids) {
      const claims = this.claims.get(id)
      if (claims !== undefined) {
        const left = claims.filter((c) => c.peer !== peer)
        if (left.length > 0) this.claims.set(id, left)
        else this.claims.delete(id)
      }
      if (this.owners.get(id) !== peer) continue
      this.owners.delete(id)
      peer.clientIds.delete(id)
      if (this.handOver(id)) changed = true
      else gone.push(id)
    }
    if (this.presence.remove(gone)) changed = true
    if (changed) this.flush()
  }

  /** An awareness message from a local connection; false when it broke a budget (the peer was refused). */
  receive (peer: Peer, update: Uint8Array): boolean {
    const started = performance.now()
    try {
      return this.receiveEntries(peer, decodeAwarenessUpdate(update, false))
    } finally {
      peer.charge(performance.now() - started)
    }
  }

  private receiveEntries (peer: Peer, entries: AwarenessEntry[]): boolean {
    // A first message that reached us before the peer was sent any awareness
    // (see sendSnapshot) cannot be an echo: it carries the client's own state.
    // Once the snapshot went out (its wait ran out on a loaded server) even a
    // first message may echo states it holds, and claims nothing.
    const first = !this.announced.has(peer) && this.owedSnapshot.has(peer)
    let announced = this.announced.get(peer)
    if (announced === undefined) this.announced.set(peer, announced = new Set())
    const own: AwarenessEntry[] = []
    const taken: number[] = []
    for (const entry of entries) {
      const owner = this.owners.get(entry.clientId)
      const removal = entry.json === 'null'
      if (owner === peer) {
        own.push(entry)
        continue
      }
      if (owner !== undefined || this.remoteOwners.has(entry.clientId)) {
        // Held by another connection here or elsewhere: an echo, a forgery, or
        // (in a first message, same user) a reconnect that outran its old close.
        if (first && !removal && this.mayClaim(peer, owner, entry.clientId)) this.claim(peer, entry)
        continue
      }
      // Nobody holds it. A client never seen is new; one that left (its
      // removal is still remembered) comes back only in a first message: in
      // any later one it is another client's late echo of the departed state.
      if (removal || (!first && this.presence.has(entry.clientId))) continue
      taken.push(entry.clientId)
      own.push(entry)
    }
    const { limits } = this.deps
    for (const entry of own) {
      if (entry.json.length > limits.maxStateBytes) return this.refuse(peer, LIMIT.awarenessStateBytes, CLOSE.tooLarge, 'awareness state too large')
      // Only what is kept is parsed: echoes and forgeries cost no JSON parse.
      validateState(entry.json)
    }
    if (taken.length > 0) {
      if (peer.clientIds.size + taken.length > limits.maxClientIdsPerConnection) return this.refuse(peer, LIMIT.clientIdsPerConnection, CLOSE.rateLimited, RATE_LIMIT_REASONS.clientIds)
      if (this.owners.size + this.remoteOwners.size + taken.length > limits.maxStatesPerDocument) return this.refuse(peer, LIMIT.presencePerDocument, CLOSE.unavailable, 'too many people in this document')
      for (const id of taken) {
        this.owners.set(id, peer)
        peer.clientIds.add(id)
        announced.add(id)
      }
    }
    const accepted = own.map((e) => e.json === 'null' ? e : { ...e, json: withIdentity(e.json, peer.user) })
    this.presence.applyEntries(accepted, false, Date.now(), peer.clientIds)
    for (const entry of accepted) {
      // Removing its own state gives the id up.
      if (entry.json === 'null' && this.owners.get(entry.clientId) === peer) {
        this.owners.delete(entry.clientId)
        peer.clientIds.delete(entry.clientId)
        this.handOver(entry.clientId)
      }
    }
    if (this.owedSnapshot.has(peer)) this.sendSnapshot(peer)
    this.schedule()
    return true
  }

  /** Answer a query-awareness message. */
  query (peer: Peer): void {
    this.owedSnapshot.get(peer)?.clear()
    this.owedSnapshot.delete(peer)
    const states = this.snapshotFor(peer)
    peer.send(states ? encodeAwareness(states) : KEEPALIVE_FRAME)
  }

  /**
   * Awareness another instance published (`instance`), or the removal of a
   * dead instance's clients made by the bus on its behalf.
   */
  receiveRemote (instance: string, update: Uint8Array): void {
    if (this.stopped) return
    const entries: AwarenessEntry[] = []
    const handedOver: number[] = []
    for (const entry of decodeAwarenessUpdate(update)) {
      if (this.owners.has(entry.clientId)) continue
      const owner = this.remoteOwners.get(entry.clientId)
      if (owner !== undefined && owner !== instance) continue
      if (entry.json === 'null') {
        this.remoteOwners.delete(entry.clientId)
        if (this.claims.has(entry.clientId)) {
          handedOver.push(entry.clientId)
          continue
        }
      } else {
        this.remoteOwners.set(entry.clientId, instance)
      }
      entries.push(entry)
    }
    this.presence.applyEntries(entries, true)
    for (const id of handedOver) this.handOver(id)
    this.schedule()
  }

  /** Periodic housekeeping: drop outdated states. */
  sweep (now: number): void {
    if (this.presence.sweep(now)) this.schedule()
  }

  stop (): void {
    this.stopped = true
    this.timer?.clear()
    this.timer = null
    for (const t of this.owedSnapshot.values()) t.clear()
    this.owedSnapshot.clear()
    this.presence.clear()
  }

  /** Flush now (a connection left: everyone learns at once). */
  flush (): void {
    this.timer?.clear()
    this.timer = null
    const changes = this.presence.flush()
    if (!changes) return
    const started = this.cpuMs()
    const { entries } = changes
    const ids = new Set(entries.map((e) => e.clientId))
    let shared: Uint8Array | null = null
    let parts: AwarenessEntryBytes | null = null
    for (const peer of this.deps.peers) {
      if (this.owedSnapshot.has(peer)) continue
      const mine = this.announced.get(peer)
      let touches = false
      if (mine !== undefined) for (const id of mine) if (ids.has(id)) touches = true
      if (!touches) {
        peer.send(shared ??= encodeAwareness(changes.all))
        continue
      }
      const rest = (parts ??= new AwarenessEntryBytes(entries)).without(mine!)
      if (rest !== null) peer.send(encodeAwareness(rest))
    }
    if (changes.local) this.deps.publish(changes.local)
    if (changes.localEntries.length > 0) this.deps.changed?.(changes.localEntries)
    this.deps.flushed?.()
    this.pace.flushed(performance.now(), this.cpuMs() - started)
  }

  private schedule (): void {
    if (this.timer || this.stopped) return
    this.timer = new TrackedTimer(this.deps.timers, () => {
      this.timer = null
      this.flush()
    }, this.pace.delay(performance.now()))
  }

  private mayClaim (peer: Peer, owner: Peer | undefined, clientId: number): boolean {
    if (owner !== undefined) return sameUser(peer.user, owner.user)
    // Held on another instance: its user is the one that instance wrote into
    // the state (withIdentity); the handover waits for that instance to say
    // its client is gone.
    return peer.user === null || this.presence.userId(clientId) === peer.user.id
  }

  private claim (peer: Peer, entry: AwarenessEntry): void {
    if (this.announced.get(peer)!.size >= this.deps.limits.maxClientIdsPerConnection) return
    const claims = this.claims.get(entry.clientId) ?? []
    this.claims.set(entry.clientId, [...claims.filter((c) => c.peer !== peer), { peer, entry }])
    this.announced.get(peer)!.add(entry.clientId)
  }

  /** The id's owner is gone: the newest claim (a reconnect) takes it. */
  private handOver (id: number): boolean {
    const claims = this.claims.get(id)
    this.claims.delete(id)
    const claim = claims?.at(-1)
    if (claim === undefined || !this.deps.peers.has(claim.peer)) return false
    const { peer, entry } = claim
    this.owners.set(id, peer)
    peer.clientIds.add(id)
    this.presence.applyEntries([{ ...entry, json: withIdentity(entry.json, peer.user) }], false, Date.now(), peer.clientIds)
    return true
  }

  private refuse (peer: Peer, limit: Limit, code: number, reason: string): false {
    this.deps.refused(limit)
    peer.refuse(code, reason)
    return false
  }

  /**
   * A keep-alive is due for `peer`: when it is still owed the snapshot, send
   * that now instead (it is the first awareness the peer must see) and say so.
   */
  sendOwedSnapshot (peer: Peer): boolean {
    if (!this.owedSnapshot.has(peer)) return false
    this.sendSnapshot(peer, true)
    return true
  }

  private sendSnapshot (peer: Peer, always = false): void {
    this.owedSnapshot.get(peer)?.clear()
    this.owedSnapshot.delete(peer)
    const states = this.snapshotFor(peer)
    if (states) peer.send(encodeAwareness(states))
    else if (always) peer.send(KEEPALIVE_FRAME)
  }

  private snapshotFor (peer: Peer): Uint8Array | null {
    return this.presence.snapshot(this.announced.get(peer))
  }
}

function sameUser (a: Peer['user'], b: Peer['user']): boolean {
  return a === null ? b === null : b !== null && a.id === b.id
}

/** The state with `user.id` and `user.name` set from the token (docs/auth.md, "Presence"). */
function withIdentity (json: string, user: Peer['user']): string {
  if (user === null) return json
  const state = validateState(json)
  if (state === null) return json
  const given = state.user !== null && typeof state.user === 'object' && !Array.isArray(state.user) ? state.user as Record<string, unknown> : {}
  state.user = { ...given, id: user.id, name: user.name ?? user.id }
  return JSON.stringify(state)
}
