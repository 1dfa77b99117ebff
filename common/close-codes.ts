/**
 * Close codes (docs/protocol.md, "Close codes"): the one table of what the
 * server may close a connection with, why, and what a client should do.
 *
 * The retry band follows y-websocket 3.x: 4400–4499 tell a client not to
 * reconnect by itself; 4500–4599 and 1xxx are transient.
 */
export const CLOSE = {
  /** Invalid document name, malformed or unknown message, text frame. */
  badRequest: 4400,
  /** Missing, invalid or expired token. */
  unauthorized: 4401,
  /** The token does not cover this document, or the page's origin is not allowed. */
  forbidden: 4403,
  /** The document was deleted (HTTP API): it is gone, do not reconnect to it. */
  gone: 4404,
  /** A message over MAX_MESSAGE_BYTES. */
  tooLarge: 4413,
  /** Over the message rate limit, or too many connections from one address or user. */
  rateLimited: 4429,
  /** The instance is full, draining, or the client does not read what it is sent: reconnect later or elsewhere. */
  unavailable: 4503,
  /** The document failed to load, or reloads: reconnect. */
  internalError: 1011,
  /** The instance is restarting (graceful drain): reconnect. */
  restarting: 1012,
} as const

export type CloseCode = typeof CLOSE[keyof typeof CLOSE]

/** What a client does after a close: stop, or reconnect with its backoff. */
export type RetryBand = 'stop' | 'retry'

/** 4400–4499: do not reconnect (y-websocket 3.x stops its loop on these too). */
export function retryBand (code: number): RetryBand {
  return code >= 4400 && code < 4500 ? 'stop' : 'retry'
}

/** The reason text the server sends with each close code it uses (the close frame's reason). */
export const CLOSE_REASONS: Record<CloseCode, string> = {
  [CLOSE.badRequest]: 'bad request',
  [CLOSE.unauthorized]: 'missing, invalid or expired token',
  [CLOSE.forbidden]: 'token does not cover this document',
  [CLOSE.gone]: 'document deleted',
  [CLOSE.tooLarge]: 'message too large',
  [CLOSE.rateLimited]: 'message rate or connection limit exceeded',
  [CLOSE.unavailable]: 'instance unavailable',
  [CLOSE.internalError]: 'internal error',
  [CLOSE.restarting]: 'server restarting',
}

/**
 * The reasons a 4429 carries, one per budget (docs/security.md, "Limits"):
 * a client tells the user which one it ran into.
 */
export const RATE_LIMIT_REASONS = {
  messages: 'message rate limit exceeded',
  work: 'too much work requested',
  gatedReplies: 'too many sync requests waiting',
  clientIds: 'too many awareness client ids',
  connectionsPerAddress: 'too many connections from this address',
  connectionsPerUser: 'too many connections for this user',
} as const

/**
 * The reasons a 4503 from the upgrade carries (docs/protocol.md, "Close
 * codes"); those about pacing end with a retry-after hint.
 */
export const UNAVAILABLE_REASONS = {
  /** MAX_CONNECTIONS */
  full: 'instance full',
  /** SIGTERM: the instance is going away (a load balancer sends the retry elsewhere). */
  draining: 'instance draining',
  /** MAX_NEW_CONNECTIONS_PER_SECOND */
  busy: 'instance busy',
  /** MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND */
  addressBusy: 'too many new connections from this address',
} as const

/** Longest hint the server gives; a client never waits longer than this for one. */
export const MAX_RETRY_AFTER_MS = 60_000

const RETRY_AFTER = '; retry-after='
const RETRY_AFTER_PATTERN = /; retry-after=(\d{1,9})$/

/**
 * A close reason with a retry-after hint: `"instance busy; retry-after=1500"`
 * asks the client not to reconnect for 1500 ms. Stock clients ignore it and
 * retry with their own backoff; Quire's provider waits at least that long.
 */
export function withRetryAfter (reason: string, ms: number): string {
  return `${reason}${RETRY_AFTER}${Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.ceil(ms)))}`
}

/** The hint in a close reason (milliseconds, at most MAX_RETRY_AFTER_MS), or null when it has none. */
export function retryAfterOf (reason: string): number | null {
  const m = RETRY_AFTER_PATTERN.exec(reason)
  return m ? Math.min(MAX_RETRY_AFTER_MS, Number(m[1])) : null
}

/** A close reason without its retry-after hint (what to show a person). */
export function reasonWithoutRetryAfter (reason: string): string {
  return reason.replace(RETRY_AFTER_PATTERN, '')
}
