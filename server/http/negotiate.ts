/**
 * Which content format a request means (docs/api.md, "Formats"): `?format=`
 * first, then `Accept` for what it reads, `Content-Type` for what it sends.
 */
import { CONTENT_FORMATS, type ContentFormat } from '../content/formats.js'

/** Media types each format is known by (the first one is what Quire sends). */
const MEDIA_TYPES: Record<ContentFormat, readonly string[]> = {
  json: ['application/json'],
  html: ['text/html'],
  markdown: ['text/markdown', 'text/x-markdown'],
  text: ['text/plain'],
  yjs: ['application/octet-stream'],
}

/** What an unqualified read (no `format`, no `Accept`, or `*` / `*`) gets. */
export const DEFAULT_FORMAT: ContentFormat = 'json'

export class NegotiationError extends Error {
  constructor (readonly status: 400 | 406 | 415, message: string) { super(message) }
}

const formatList = CONTENT_FORMATS.join(', ')

/** `?format=`; undefined when absent. */
export function queryFormat (value: string | null): ContentFormat | undefined {
  if (value === null) return undefined
  if ((CONTENT_FORMATS as readonly string[]).includes(value)) return value as ContentFormat
  throw new NegotiationError(400, `unknown format "${value.slice(0, 40)}": one of ${formatList}`)
}

/** The format to answer a read in: `?format=`, else the best of `Accept` (406 when it names none Quire has). */
export function readFormat (format: string | null, accept: string | undefined): ContentFormat {
  const asked = queryFormat(format)
  if (asked !== undefined) return asked
  if (accept === undefined || accept.trim() === '') return DEFAULT_FORMAT
  let best: { format: ContentFormat, q: number } | null = null
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((p) => p.trim().toLowerCase())
    const qParam = params.find((p) => p.startsWith('q='))
    const q = qParam === undefined ? 1 : Number(qParam.slice(2))
    if (!(q > 0)) continue
    const format = type === '*/*' ? DEFAULT_FORMAT : type === 'text/*' ? 'html' : formatOfMediaType(type)
    if (format !== undefined && (best === null || q > best.q)) best = { format, q }
  }
  if (best === null) throw new NegotiationError(406, `none of the formats in Accept is served: ask for ${CONTENT_FORMATS.map((f) => MEDIA_TYPES[f][0]).join(', ')} or ?format=`)
  return best.format
}

/** The format of a request body: `?format=`, else its `Content-Type` (415 when it has none Quire reads). */
export function bodyFormat (format: string | null, contentType: string | undefined): ContentFormat {
  const asked = queryFormat(format)
  if (asked !== undefined) return asked
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase()
  const found = formatOfMediaType(type)
  if (found === undefined) {
    throw new NegotiationError(415, `${type === '' ? 'no Content-Type' : `Content-Type ${type.slice(0, 60)} is not accepted`}: send one of ${CONTENT_FORMATS.map((f) => MEDIA_TYPES[f][0]).join(', ')}`)
  }
  return found
}

function formatOfMediaType (type: string): ContentFormat | undefined {
  return CONTENT_FORMATS.find((f) => MEDIA_TYPES[f].includes(type))
}
