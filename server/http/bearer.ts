/** `Authorization: Bearer <secret>` compared in constant time. */
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export function bearerMatches (req: IncomingMessage, expected: string): boolean {
  const header = req.headers.authorization ?? ''
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7).trim() : '')
  const want = Buffer.from(expected)
  return given.length === want.length && timingSafeEqual(given, want)
}
