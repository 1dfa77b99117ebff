/**
 * Retrying with backoff on the server: one pending attempt at a time,
 * scheduled through a TrackedTimer (so it counts in quire_timers_active),
 * the delay doubling from the policy's minimum to its maximum on every
 * attempt and back to the minimum on `reset()` (after a success). The delays
 * themselves come from common/backoff.ts.
 */
import type { Gauge } from 'prom-client'
import { backoffDelay, type BackoffOptions } from '../../common/backoff.js'
import { TrackedTimer } from './timers.js'

/** Retrying a store operation (a document's writes, a feed's catch-up read): 250 ms doubling to 5 s. */
export const STORE_RETRY: BackoffOptions = { baseMs: 250, maxMs: 5_000, jitter: 'none' }

export class Backoff {
  private attempt = 0
  private next: number
  private timer: TrackedTimer | null = null

  constructor (
    private readonly gauge: Gauge,
    private readonly policy: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {
    this.next = backoffDelay(0, policy, random)
  }

  /** What the next `schedule` will wait, in ms (drawn in advance, so it can be logged first). */
  get delayMs (): number { return this.next }

  /** Attempts scheduled since the last reset. */
  get attempts (): number { return this.attempt }

  /** An attempt is waiting for its timer. */
  get pending (): boolean { return this.timer !== null }

  /**
   * Run `fn` after the current delay, replacing an attempt already pending;
   * the following one waits longer (up to the maximum). Returns the delay.
   */
  schedule (fn: () => void): number {
    this.cancel()
    const ms = this.next
    this.timer = new TrackedTimer(this.gauge, () => {
      this.timer = null
      fn()
    }, ms)
    this.attempt++
    this.next = backoffDelay(this.attempt, this.policy, this.random)
    return ms
  }

  /** Back to the minimum delay (after a success). A pending attempt stays pending. */
  reset (): void {
    this.attempt = 0
    this.next = backoffDelay(0, this.policy, this.random)
  }

  /** Drop the pending attempt, if any (closing, or succeeding some other way); the delay stays where it is. */
  cancel (): void {
    this.timer?.clear()
    this.timer = null
  }
}
