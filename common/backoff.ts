/**
 * Reconnect delays: exponential backoff with full jitter (a uniformly random
 * delay between 0 and the capped exponential bound), so that a thousand
 * browsers dropped by one restart do not come back in lockstep.
 */
export interface BackoffOptions {
  /** Bound of the first retry. */
  baseMs: number
  /** No delay is ever longer than this. */
  maxMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 10_000 }

/** Delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay (attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const bound = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * bound)
}
