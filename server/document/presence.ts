/**
 * The awareness states of one document, kept as JSON text so relaying never
 * re-serialises them. Incoming changes are coalesced and sent as one
 * awareness update per flush to every connection, instead of every message
 * to every client (which is O(N²) frames).
 *
 * Follows y-protocols' rules: a state replaces another with a higher clock,
 * or the same clock when it is a removal ("null").
 *
 * Clocks: each state keeps the clock its client gave it, plus a `shift`
 * that the server adds to what it tells everyone. When a connection closes,
 * the server announces its states' removal one tick later than the client's
 * clock (so every client drops them). A stock client that reconnects
 * re-announces its state at its unchanged clock, which everyone would
 * ignore as older than that removal; the server accepts it and shifts the
 * clock it relays just past the removal, so the user reappears at once
 * rather than after two 15 s renewals. (No state is ever sent back to its
 * own client, shifted or not: see presence-relay.ts.)
 */
import { decodeAwarenessUpdate, encodeAwarenessUpdate, validateState, type AwarenessEntry } from '../../common/awareness.js'

/** y-protocols' outdated timeout: a state not renewed for this long is dropped. */
export const OUTDATED_MS = 30_000

interface StateRecord extends AwarenessEntry {
  lastSeen: number
  /** True when the state came from another instance. */
  remote: boolean
  /** Added to `clock` in everything sent out (see above). */
  shift: number
  /** A removal the server made (connection closed, outdated), not the client. */
  removedHere: boolean
}

const visible = (s: StateRecord): AwarenessEntry => ({ clientId: s.clientId, clock: s.clock + s.shift, json: s.json })

export interface PresenceFlush {
  /** Everything that changed, for the local connections. */
  all: Uint8Array
  /** The same, as entries (clocks as everyone sees them). */
  entries: AwarenessEntry[]
  /** What local clients changed, for other instances; null when nothing. */
  local: Uint8Array | null
  /** The same as entries (removals as "null"), for server-side observers (onPresence). */
  localEntries: AwarenessEntry[]
}

export class Presence {
  private readonly states = new Map<number, StateRecord>()
  private readonly pending = new Map<number, StateRecord>()

  get size (): number { return this.states.size }
  get hasPending (): boolean { return this.pending.size > 0 }

  /**
   * Apply an update; returns the client ids whose state it set (so the
   * connection can remember which states are its own).
   */
  apply (update: Uint8Array, remote: boolean, now = Date.now(), senderIds?: ReadonlySet<number>): number[] {
    return this.applyEntries(decodeAwarenessUpdate(update), remote, now, senderIds)
  }

  /**
   * `senderIds`: the client ids the sending connection has set before. A
   * removal of a client that is not the sender's own is an echo of what the
   * server relayed, so it is judged by the clock everyone saw (clock +
   * shift): stock clients re-broadcast a removal they accept, and that echo
   * can arrive after the client has reappeared at a shifted clock, which it
   * must not remove again.
   */
  applyEntries (entries: AwarenessEntry[], remote: boolean, now = Date.now(), senderIds?: ReadonlySet<number>): number[] {
    const touched: number[] = []
    for (const entry of entries) {
      const current = this.states.get(entry.clientId)
      const removal = entry.json === 'null'
      // What others last saw of this client; what they see now must be later (or equal, for a removal).
      const seen = current === undefined ? 0 : current.clock + current.shift
      if (current !== undefined && removal && senderIds !== undefined && !senderIds.has(entry.clientId) && entry.clock < seen) continue
      const newer = current === undefined || current.clock < entry.clock ||
        (current.clock === entry.clock && removal && current.json !== 'null') ||
        (current.removedHere && current.clock <= entry.clock && !removal)
      if (!newer) continue
      // An echo: stock clients re-broadcast every state they accept, so
      // others send back what we relayed. Nothing new.
      if (current !== undefined && entry.clock === seen && entry.json === current.json) continue
      const shift = current === undefined ? 0 : Math.max(0, seen + (removal ? 0 : 1) - entry.clock)
      const record: StateRecord = { ...entry, lastSeen: now, remote, shift, removedHere: false }
      this.states.set(entry.clientId, record)
      this.pending.set(entry.clientId, record)
      touched.push(entry.clientId)
    }
    return touched
  }

  /** Mark clients as gone (their connection closed); returns true when something changed. */
  remove (clientIds: Iterable<number>, now = Date.now()): boolean {
    let changed = false
    for (const clientId of clientIds) {
      const current = this.states.get(clientId)
      if (current === undefined || current.json === 'null') continue
      const record: StateRecord = { clientId, clock: current.clock, shift: current.shift + 1, json: 'null', lastSeen: now, remote: current.remote, removedHere: true }
      this.states.set(clientId, record)
      this.pending.set(clientId, record)
      changed = true
    }
    return changed
  }

  /** Whether a state or a removal marker is kept for this client. */
  has (clientId: number): boolean {
    return this.states.has(clientId)
  }

  /** `user.id` in a client's live state, when it has one (a state's identity, set from its token: docs/auth.md). */
  userId (clientId: number): string | undefined {
    const s = this.states.get(clientId)
    if (s === undefined || s.json === 'null') return undefined
    let user: unknown
    try {
      user = validateState(s.json)?.user
    } catch {
      return undefined
    }
    const id = user !== null && typeof user === 'object' ? (user as { id?: unknown }).id : undefined
    return typeof id === 'string' ? id : undefined
  }

  /** Live states (removal markers not counted). */
  get liveCount (): number {
    let n = 0
    for (const s of this.states.values()) if (s.json !== 'null') n++
    return n
  }

  /** Every live state, and whether it came from another instance (who is present, for server-side listeners). */
  live (): Array<{ clientId: number, json: string, remote: boolean }> {
    const live: Array<{ clientId: number, json: string, remote: boolean }> = []
    for (const s of this.states.values()) if (s.json !== 'null') live.push({ clientId: s.clientId, json: s.json, remote: s.remote })
    return live
  }

  /** Every live state (but those of `except`), for a client that just connected or asked. Null when there is none. */
  snapshot (except?: ReadonlySet<number>): Uint8Array | null {
    const live: AwarenessEntry[] = []
    for (const s of this.states.values()) if (s.json !== 'null' && except?.has(s.clientId) !== true) live.push(visible(s))
    return live.length === 0 ? null : encodeAwarenessUpdate(live)
  }

  /** Take the coalesced changes since the last flush. */
  flush (): PresenceFlush | null {
    if (this.pending.size === 0) return null
    const all = [...this.pending.values()]
    const local = all.filter((s) => !s.remote)
    this.pending.clear()
    const entries = all.map(visible)
    const localEntries = local.map(visible)
    return {
      all: encodeAwarenessUpdate(entries),
      entries,
      local: local.length === 0 ? null : encodeAwarenessUpdate(localEntries),
      localEntries,
    }
  }

  /**
   * Drop states not renewed within OUTDATED_MS (as y-protocols does), and
   * forget removal markers after the same time.
   */
  sweep (now = Date.now()): boolean {
    const stale: number[] = []
    for (const s of this.states.values()) {
      if (now - s.lastSeen < OUTDATED_MS) continue
      if (s.json === 'null') this.states.delete(s.clientId)
      else stale.push(s.clientId)
    }
    return this.remove(stale, now)
  }

  clear (): void {
    this.states.clear()
    this.pending.clear()
  }
}
