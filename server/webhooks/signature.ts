/**
 * Signing webhook bodies (docs/webhooks.md, "Verifying a delivery"):
 *
 *   Quire-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 * The timestamp is signed with the body, so a receiver that refuses old
 * timestamps refuses replays. `verifySignature` is what a receiver does.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export const SIGNATURE_HEADER = 'quire-signature'
export const ID_HEADER = 'quire-webhook-id'
export const EVENT_HEADER = 'quire-webhook-event'
export const ATTEMPT_HEADER = 'quire-webhook-attempt'

/** How far a receiver should accept a timestamp from its own clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300

function hmac (secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
}

/** The Quire-Signature header value for `body`, signed at `timestamp` (unix seconds). */
export function signatureHeader (secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`
}

/** Whether `header` signs `body` with `secret`, at a time within `toleranceSeconds` of `now`. */
export function verifySignature (secret: string, header: string | undefined, body: string, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS, now = Date.now() / 1000): boolean {
  if (header === undefined) return false
  const parts = new Map(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]))
  const t = Number(parts.get('t'))
  const given = Buffer.from(parts.get('v1') ?? '', 'hex')
  if (!Number.isInteger(t) || Math.abs(now - t) > toleranceSeconds) return false
  const wanted = Buffer.from(hmac(secret, t, body), 'hex')
  return given.length === wanted.length && timingSafeEqual(given, wanted)
}
