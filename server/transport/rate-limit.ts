/** Token bucket: `perSecond` sustained, `burst` at once. */
export class RateLimiter {
  private tokens: number

  /** `now`: the clock's reading at creation (performance.now() unless a caller keeps its own). */
  constructor (private readonly perSecond: number, private readonly burst: number, private last = performance.now()) {
    this.tokens = burst
  }

  /** Take one token; false when the bucket is empty. */
  take (now = performance.now()): boolean {
    this.refill(now)
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Spend `cost` tokens for work already done; false once the bucket is overdrawn. */
  charge (cost: number, now = performance.now()): boolean {
    this.refill(now)
    this.tokens -= cost
    return this.tokens >= 0
  }

  /** Milliseconds until a token is there to take (0: now). */
  msUntilToken (now = performance.now()): number {
    this.refill(now)
    return this.tokens >= 1 ? 0 : (1 - this.tokens) * 1000 / this.perSecond
  }

  /** Whether the bucket is full again: it then remembers nothing a fresh one would not. */
  isFull (now = performance.now()): boolean {
    this.refill(now)
    return this.tokens >= this.burst
  }

  private refill (now: number): void {
    if (now <= this.last) return
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perSecond / 1000)
    this.last = now
  }
}
