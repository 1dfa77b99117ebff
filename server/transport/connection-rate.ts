/**
 * The pace of new connections (docs/configuration.md, "Limits"): a token
 * bucket for the instance (MAX_NEW_CONNECTIONS_PER_SECOND, _BURST) and one
 * per client address (MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND, _BURST).
 *
 * A client refused for going too fast is told when to come back (a
 * retry-after hint in its close reason): refused clients are handed
 * successive turns at the bucket's sustained rate, so a storm of
 * reconnects after a restart is spread out over time instead of retrying
 * in lockstep, and a client that honours its hint finds a token waiting.
 */
import { MAX_RETRY_AFTER_MS } from '../../common/close-codes.js'
import { RateLimiter } from './rate-limit.js'

export interface ConnectionRateLimits {
  /** MAX_NEW_CONNECTIONS_PER_SECOND */
  perSecond: number
  /** MAX_NEW_CONNECTIONS_BURST */
  burst: number
  /** MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND */
  perAddressPerSecond: number
  /** MAX_NEW_CONNECTIONS_PER_IP_BURST */
  perAddressBurst: number
}

/** Which bucket refused: the instance's, or the client address's. */
export type PaceLimit = 'instance' | 'address'

export type Pace = { admitted: true } | { admitted: false, limit: PaceLimit, retryAfterMs: number }

/** A token bucket that hands the clients it refuses their turns. */
class PacedBucket {
  private readonly bucket: RateLimiter
  /** The next refused client's turn (performance.now() time). */
  private nextTurn = 0

  constructor (private readonly perSecond: number, burst: number, now: number) {
    this.bucket = new RateLimiter(perSecond, burst, now)
  }

  ready (now: number): boolean { return this.bucket.msUntilToken(now) === 0 }

  take (now: number): void { this.bucket.take(now) }

  /**
   * Milliseconds until a refused client's turn: no sooner than the next
   * token, one sustained interval after the previous refused client's, and
   * never beyond the longest hint (so a flood cannot push everyone's turn
   * out indefinitely).
   */
  turn (now: number): number {
    const earliest = now + this.bucket.msUntilToken(now)
    const turn = Math.min(Math.max(this.nextTurn, earliest), now + MAX_RETRY_AFTER_MS)
    this.nextTurn = turn + 1000 / this.perSecond
    return turn - now
  }

  idle (now: number): boolean { return this.nextTurn <= now && this.bucket.isFull(now) }
}

export class ConnectionRate {
  private readonly instance: PacedBucket
  private readonly addresses = new Map<string, PacedBucket>()

  /** `now`: the clock's reading at creation (performance.now(), or the tests' own clock). */
  constructor (private readonly limits: ConnectionRateLimits, now = performance.now()) {
    this.instance = new PacedBucket(limits.perSecond, limits.burst, now)
  }

  /**
   * Admit one new connection from `address`, or say which budget refuses it
   * and when to come back. The address's budget is asked first, so one
   * address going too fast spends nothing of the instance's.
   */
  admit (address: string, now = performance.now()): Pace {
    let own = this.addresses.get(address)
    if (own === undefined) {
      own = new PacedBucket(this.limits.perAddressPerSecond, this.limits.perAddressBurst, now)
      this.addresses.set(address, own)
    }
    if (!own.ready(now)) return { admitted: false, limit: 'address', retryAfterMs: own.turn(now) }
    if (!this.instance.ready(now)) return { admitted: false, limit: 'instance', retryAfterMs: this.instance.turn(now) }
    own.take(now)
    this.instance.take(now)
    return { admitted: true }
  }

  /** Forget addresses whose buckets are full again (the housekeeping tick): they remember nothing. */
  sweep (now = performance.now()): void {
    for (const [address, bucket] of this.addresses) if (bucket.idle(now)) this.addresses.delete(address)
  }

  /** Addresses remembered now (tests: the map does not grow without bound). */
  get trackedAddresses (): number { return this.addresses.size }
}
