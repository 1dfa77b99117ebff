/** Token bucket: `perSecond` sustained, `burst` at once. */
export class RateLimiter {
  private tokens: number
  private last = performance.now()

  constructor (private readonly perSecond: number, private readonly burst: number) {
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

  private refill (now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perSecond / 1000)
    this.last = now
  }
}
