/**
 * The awareness states of one document, kept as JSON text so relaying never
 * re-serialises them. Incoming changes are coalesced and sent as one
 * awareness update per flush to every connection, instead of every message
 * to every client (which is O(N²) frames).
 *
 * Follows y-protocols' rules: a state replaces another with a higher clock,
 * or the same clock when it is a removal ("null").
 */
import { decodeAwarenessUpdate, encodeAwarenessUpdate, type AwarenessEntry } from '../protocol/awareness-update.js'

/** y-protocols' outdated timeout: a state not renewed for this long is dropped. */
export const OUTDATED_MS = 30_000

interface StateRecord extends AwarenessEntry {
  lastSeen: number
  /** True when the state came from another instance. */
  remote: boolean
}

export interface PresenceFlush {
  /** Everything that changed, for the local connections. */
  all: Uint8Array
  /** What local clients changed, for other instances; null when nothing. */
  local: Uint8Array | null
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
  apply (update: Uint8Array, remote: boolean, now = Date.now()): number[] {
    return this.applyEntries(decodeAwarenessUpdate(update), remote, now)
  }

  applyEntries (entries: AwarenessEntry[], remote: boolean, now = Date.now()): number[] {
    const touched: number[] = []
    for (const entry of entries) {
      const current = this.states.get(entry.clientId)
      const newer = current === undefined || current.clock < entry.clock ||
        (current.clock === entry.clock && entry.json === 'null' && current.json !== 'null')
      if (!newer) continue
      const record: StateRecord = { ...entry, lastSeen: now, remote }
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
      const record: StateRecord = { clientId, clock: current.clock + 1, json: 'null', lastSeen: now, remote: current.remote }
      this.states.set(clientId, record)
      this.pending.set(clientId, record)
      changed = true
    }
    return changed
  }

  /** Every live state, for a client that just connected or asked. Null when there is none. */
  snapshot (): Uint8Array | null {
    const live: AwarenessEntry[] = []
    for (const s of this.states.values()) if (s.json !== 'null') live.push(s)
    return live.length === 0 ? null : encodeAwarenessUpdate(live)
  }

  /** Take the coalesced changes since the last flush. */
  flush (): PresenceFlush | null {
    if (this.pending.size === 0) return null
    const all = [...this.pending.values()]
    const local = all.filter((s) => !s.remote)
    this.pending.clear()
    return {
      all: encodeAwarenessUpdate(all),
      local: local.length === 0 ? null : encodeAwarenessUpdate(local),
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
