/**
 * The sync endpoint's ledger of who holds sockets, for the connection budgets
 * (docs/configuration.md, "Limits"): upgrades not yet admitted, sockets per
 * client address, connections per user. Every entry is released by the
 * event that frees the resource (the socket closing, the connection going),
 * so nothing is counted twice and nothing leaks when a client vanishes.
 */
import type { Metrics } from '../ops/metrics.js'

/** What holds a counted resource until it closes: a socket, or a long-lived HTTP response (the stream transport). */
export interface Holder {
  once (event: 'close', listener: () => void): unknown
}

export interface AdmissionLimits {
  /** MAX_PENDING_UPGRADES */
  pendingUpgrades: number
  /** MAX_CONNECTIONS_PER_IP */
  perAddress: number
  /** MAX_CONNECTIONS_PER_USER */
  perUser: number
}

/** Counts per key; a key whose count falls to zero is forgotten. */
export class Tally {
  private readonly counts = new Map<string, number>()
  count (key: string): number { return this.counts.get(key) ?? 0 }
  add (key: string): void { this.counts.set(key, this.count(key) + 1) }
  remove (key: string): void {
    const n = this.count(key) - 1
    if (n > 0) this.counts.set(key, n)
    else this.counts.delete(key)
  }
}

export class Admission {
  private pending = 0
  private readonly perAddress = new Tally()
  private readonly perUser = new Tally()

  constructor (private readonly limits: AdmissionLimits, private readonly metrics: Metrics) {}

  /**
   * Count `socket` as a pending upgrade, if there is room: until `admitted()`
   * is called or the socket closes, whichever comes first. A refused upgrade
   * stays pending until its socket is gone.
   */
  holdPending (socket: Holder): { admitted: () => void } | null {
    if (this.pending >= this.limits.pendingUpgrades) return null
    this.setPending(+1)
    let held = true
    const admitted = (): void => {
      if (!held) return
      held = false
      this.setPending(-1)
    }
    socket.once('close', admitted)
    return { admitted }
  }

  /** Count `socket` against its client address, if there is room, until it closes. */
  holdAddress (socket: Holder, address: string): boolean {
    if (this.perAddress.count(address) >= this.limits.perAddress) return false
    this.perAddress.add(address)
    socket.once('close', () => this.perAddress.remove(address))
    return true
  }

  userFull (userId: string): boolean { return this.perUser.count(userId) >= this.limits.perUser }
  addUser (userId: string): void { this.perUser.add(userId) }
  removeUser (userId: string): void { this.perUser.remove(userId) }

  private setPending (delta: number): void {
    this.pending += delta
    this.metrics.pendingUpgrades.set(this.pending)
  }
}
