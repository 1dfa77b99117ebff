/** A connection as the document sees it, recording what it is sent. */
import type { Peer } from '../../server/document/peer.js'

export class FakePeer implements Peer {
  readonly clientIds = new Set<number>()
  frames: Uint8Array[] = []
  acks: number[] = []
  private waiters: Array<() => void> = []

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
  until (predicate: (peer: this) => boolean): Promise<void> {
    if (predicate(this)) return Promise.resolve()
    return new Promise((resolve) => {
      const check = (): void => {
        if (predicate(this)) resolve()
        else this.waiters.push(check)
      }
      this.waiters.push(check)
    })
  }

  private wake (): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }
}
