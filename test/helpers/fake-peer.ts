/** A connection as the document sees it, recording what it is sent. */
import type { Peer } from '../../server/document/document.js'

export class FakePeer implements Peer {
  readonly clientIds = new Set<number>()
  frames: Uint8Array[] = []
  acks: number[] = []
  private waiters: Array<() => void> = []

  constructor (readonly canWrite = true) {}

  send (frame: Uint8Array): void {
    this.frames.push(frame)
    this.wake()
  }

  acknowledge (count: number): void {
    this.acks.push(count)
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
