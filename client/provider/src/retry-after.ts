/**
 * The server's retry-after hint (docs/protocol.md, "Close codes"): a close
 * whose reason ends in `; retry-after=<ms>` asks the client not to come back
 * sooner (an instance pacing a storm of reconnects, or draining). The
 * provider's reconnect waits at least that long, with jitter
 * (common/backoff.ts), and neither coming back online nor a tab turning
 * visible cuts the wait short.
 */
import { retryAfterOf, hintedDelay } from '@quire/common'

export class RetryAfter {
  /** No reconnect before this time (Date.now() ms); 0: no hint pending. */
  private notBefore = 0

  constructor (private readonly now: () => number = Date.now, private readonly random: () => number = Math.random) {}

  /** A connection closed with `reason`: remember its hint, or forget the last one. */
  closed (reason: string): void {
    const hint = retryAfterOf(reason)
    this.notBefore = hint === null ? 0 : this.now() + hintedDelay(hint, this.random)
  }

  /** The reconnect delay: the backoff's, or longer while a hint lasts. */
  delay (backoffMs: number): number {
    return Math.max(backoffMs, this.notBefore - this.now())
  }

  /** Whether reconnecting now would be sooner than the server asked. */
  get waiting (): boolean {
    return this.now() < this.notBefore
  }
}
