/**
 * Retry delays: exponential backoff, the bound doubling from `baseMs` up to
 * `maxMs`, with a choice of jitter. Reconnecting clients use full jitter (a
 * uniformly random delay between 0 and the bound), so that a thousand
 * browsers dropped by one restart do not come back in lockstep; the server's
 * own retries use it too (server/ops/backoff.ts schedules them).
 */

/**
 * How the delay is drawn from the bound:
 * - `full`: uniformly in [0, bound);
 * - `spread`: uniformly in [¾ bound, 1¼ bound), never much sooner than the bound;
 * - `none`: exactly the bound.
 */
export type Jitter = 'full' | 'spread' | 'none'

export interface BackoffOptions {
  /** Bound of the first retry. */
  baseMs: number
  /** No bound is ever longer than this. */
  maxMs: number
  /** Full jitter unless told otherwise. */
  jitter?: Jitter
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 10_000 }

/** Bound of retry number `attempt` (0 for the first retry): baseMs · 2^attempt, capped at maxMs. */
export function backoffBound (attempt: number, opts: BackoffOptions): number {
  return Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30))
}

/** Delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay (attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const bound = backoffBound(attempt, opts)
  switch (opts.jitter ?? 'full') {
    case 'full': return Math.floor(random() * bound)
    case 'spread': return Math.floor(bound * (0.75 + random() / 2))
    case 'none': return bound
  }
}

/** How much later than a server's retry-after hint a client may come back, as a share of the hint. */
export const RETRY_HINT_JITTER = 0.25

/**
 * Delay before reconnecting after a close that carried a retry-after hint
 * (common/close-codes.ts): never sooner than the hint, spread over the
 * following quarter of it so that the clients a server paced do not all
 * come back on the same millisecond.
 */
export function hintedDelay (hintMs: number, random: () => number = Math.random): number {
  return Math.ceil(hintMs * (1 + RETRY_HINT_JITTER * random()))
}
