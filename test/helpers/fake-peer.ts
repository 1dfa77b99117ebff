/** A connection as the document sees it, recording what it is sent. */
import type { Peer } from '../../server/document/peer.js'
import { DEADLINE_MS, waitUntil } from './wait.js'

export class FakePeer implements Peer {
  readonly clientIds = new Set<number>()
  frames: Uint8Array[] = []
  acks: number[] = []
  private waiters = new Set<() => void>()

  refused: { code: number, reason: string } | null = null
  charged = 0

  constructor (readonly canWrite = true, readonly user: Peer['user'] = null) {}

  charge (ms: number): void {
    this.charged += ms
  }

  refuse (code: number, reason: string): void {
    this.refused = { code, reason }
    this.wake()
  }

  send (frame: Uint8Array): void {
    this.frames.push(frame)
    this.wake()
  }

  acknowledge (count: number): void {
    this.acks.push(count)
    this.wake()
  }

  evicted = false
  evict (): void {
    this.evicted = true
    this.wake()
  }

  /** Resolves once `predicate` holds, re-checked whenever this peer is sent something. */
  until (predicate: (peer: this) => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
    return waitUntil((on) => {
      this.waiters.add(on)
      return () => { this.waiters.delete(on) }
    }, () => predicate(this), what, timeoutMs)
  }

  private wake (): void {
    for (const w of [...this.waiters]) w()
  }
}
