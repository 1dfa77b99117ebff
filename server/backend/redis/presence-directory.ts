/**
 * Which awareness client ids belong to which instance, for one document, so
 * that when an instance dies the others can remove its clients' states at
 * once (y-protocols alone waits 30 s). Also keeps the latest state of this
 * instance's own clients, to answer an instance that just loaded the
 * document and asks who is there.
 */
import { decodeAwarenessUpdate, encodeAwarenessUpdate, type AwarenessEntry } from '../../../common/awareness.js'

export class PresenceDirectory {
  private readonly local = new Map<number, AwarenessEntry>()
  /** clientId -> its instance and last clock, for clients of other instances. */
  private readonly remote = new Map<number, { instance: string, clock: number }>()

  /** What this instance's clients changed (as published to the others). */
  noteLocal (update: Uint8Array): void {
    for (const entry of decodeAwarenessUpdate(update)) {
      // A client that moved here from another instance is ours now.
      this.remote.delete(entry.clientId)
      const current = this.local.get(entry.clientId)
      if (current !== undefined && current.clock > entry.clock) continue
      if (entry.json === 'null') this.local.delete(entry.clientId)
      else this.local.set(entry.clientId, entry)
    }
  }

  /**
   * An update another instance published; throws on malformed input. Only
   * the instance that holds a client may change it (as the document's
   * presence relay also checks).
   */
  noteRemote (instance: string, update: Uint8Array): void {
    for (const entry of decodeAwarenessUpdate(update)) {
      const owner = this.remote.get(entry.clientId)
      if (this.local.has(entry.clientId) || (owner !== undefined && owner.instance !== instance)) continue
      if (entry.json === 'null') this.remote.delete(entry.clientId)
      else this.remote.set(entry.clientId, { instance, clock: entry.clock })
    }
  }

  /** Every live state of this instance's clients, or null. */
  localSnapshot (): Uint8Array | null {
    return this.local.size === 0 ? null : encodeAwarenessUpdate(this.local.values())
  }

  /**
   * Forget a dead instance's clients; returns the update that removes them,
   * or null. The removal keeps each client's clock (a removal wins at an
   * equal clock in y-protocols): were the instance only stalled, its
   * clients' next renewal (clock + 1) shows them again at once.
   */
  removeInstance (instance: string): Uint8Array | null {
    const removals: AwarenessEntry[] = []
    for (const [clientId, owner] of this.remote) {
      if (owner.instance !== instance) continue
      this.remote.delete(clientId)
      removals.push({ clientId, clock: owner.clock, json: 'null' })
    }
    return removals.length === 0 ? null : encodeAwarenessUpdate(removals)
  }
}
