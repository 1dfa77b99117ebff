/**
 * What one event stream asks for and may see (docs/events.md, "Asking"):
 * the query string of `GET /api/events` read strictly (anything unknown,
 * repeated or invalid is a 400 with a one-line reason), and the documents
 * it covers checked against the token's grant, as the sync endpoint checks
 * one document (server/auth/access.ts).
 */
import { isValidDocName, MAX_DOC_NAME_BYTES } from '../../common/doc-name.js'
import { accessFor } from '../auth/access.js'
import type { Grant } from '../auth/token.js'

export interface StreamRequest {
  /** Documents named with `docs=a,b` (each percent-encoded), or null. */
  docs: string[] | null
  /** Every document whose name starts with this (`prefix=team/`), or null. */
  prefix: string | null
  /** The `token` parameter, if given. */
  token: string | null
}

export class BadRequest extends Error {}

const PARAMS = new Set(['docs', 'prefix', 'token'])
const CONTROL = /\p{Cc}/u

/** Percent-decoding as browsers encode a query (`+` is a space); null for broken escapes. */
function decode (text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    return null
  }
}

/**
 * Read the query string (without its `?`). `docs` is split on raw commas
 * before decoding, so a name holding a comma is given as `%2C`.
 */
export function parseStreamQuery (query: string, maxDocs: number): StreamRequest {
  const raw = new Map<string, string>()
  for (const part of query.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const key = decode(eq < 0 ? part : part.slice(0, eq))
    if (key === null || !PARAMS.has(key)) throw new BadRequest(`unknown parameter ${JSON.stringify(key ?? part).slice(0, 60)}: give docs=<names>, prefix=<prefix> and optionally token=<token>`)
    if (raw.has(key)) throw new BadRequest(`parameter ${key} given twice`)
    raw.set(key, eq < 0 ? '' : part.slice(eq + 1))
  }
  let docs: string[] | null = null
  if (raw.has('docs')) {
    const names = raw.get('docs')!.split(',').map(decode)
    if (names.length > maxDocs) throw new BadRequest(`too many documents: at most ${maxDocs} per stream (EVENTS_MAX_DOCS)`)
    const bad = names.find((n) => n === null || !isValidDocName(n))
    if (bad !== undefined) throw new BadRequest(`invalid document name ${bad === null ? '(broken percent-encoding)' : JSON.stringify(bad).slice(0, 80)}`)
    docs = [...new Set(names as string[])]
  }
  let prefix: string | null = null
  if (raw.has('prefix')) {
    prefix = decode(raw.get('prefix')!)
    if (prefix === null || CONTROL.test(prefix) || new TextEncoder().encode(prefix).length > MAX_DOC_NAME_BYTES) throw new BadRequest('invalid prefix')
  }
  if (docs === null && prefix === null) throw new BadRequest('give docs=<comma-separated names> or prefix=<name prefix>')
  const token = raw.has('token') ? decode(raw.get('token')!) : null
  return { docs, prefix, token }
}

/** Whether some document whose name starts with `prefix` matches the token pattern `pattern`. */
export function patternReaches (pattern: string, prefix: string): boolean {
  if (!pattern.endsWith('*')) return pattern.startsWith(prefix)
  const base = pattern.slice(0, -1)
  return base.startsWith(prefix) || prefix.startsWith(base)
}

/**
 * Which documents a stream delivers: those it asked for that `grant` may
 * read (every one, for the API key or open mode: grant null). Returns the
 * filter, or the reason to refuse (403): a named document the token does
 * not cover, or a prefix under which it covers nothing.
 */
export function streamFilter (req: StreamRequest, grant: Pick<Grant, 'allowed' | 'readonly'> | null): { wants: (doc: string) => boolean } | { forbidden: string } {
  const named = new Set(req.docs ?? [])
  const { prefix } = req
  const asked = (doc: string): boolean => named.has(doc) || (prefix !== null && doc.startsWith(prefix))
  if (grant === null) return { wants: asked }
  const readable = (doc: string): boolean => accessFor(doc, grant.allowed, grant.readonly) !== 'none'
  for (const doc of named) if (!readable(doc)) return { forbidden: `the token does not cover ${JSON.stringify(doc).slice(0, 80)}` }
  if (prefix !== null && ![...grant.allowed, ...grant.readonly].some((p) => patternReaches(p, prefix))) {
    return { forbidden: `the token covers no document under ${JSON.stringify(prefix).slice(0, 80)}` }
  }
  return { wants: (doc) => asked(doc) && readable(doc) }
}
