/**
 * The fallback transport's wire format (docs/protocol.md, "The fallback
 * transport"), for networks that refuse WebSocket upgrades: the same
 * y-protocols frames, down as a Server-Sent Events stream, up as POSTs.
 *
 *   GET  /sync/<doc>?token=…&ack=1         text/event-stream
 *     event: session  data: {"session":"<id>","maxBody":<bytes>}   (first)
 *     data: <one server frame, base64>                            (each frame)
 *     event: close    data: {"code":4401,"reason":"token expired"} (last)
 *   POST /sync/<doc>?session=<id>          text/plain: one frame per line, base64
 *     204: taken; 404: no such session here; 409: another POST of the session
 *     is still being read; 410 {"code","reason"}: the session closed while
 *     reading it (the same close the stream carries).
 *
 * text/plain and a token in the query keep both requests "simple" for CORS,
 * so a page on another origin needs no preflight. No Node imports.
 */

/** Where the stream transport lives; the rest of the path is the document name, as for a WebSocket. */
export const STREAM_PREFIX = '/sync'

/** The query parameter naming the session a POST belongs to. */
export const STREAM_SESSION_PARAM = 'session'

/** The response header carrying the session id too, for load balancers that route POSTs by it (docs/deployment.md). */
export const STREAM_SESSION_HEADER = 'x-quire-session'

/** SSE event names; frames go as unnamed events ("message"). */
export const STREAM_EVENT = { session: 'session', close: 'close' } as const

/** The first event of a stream. */
export interface StreamSession {
  /** The session id POSTs name (`?session=`). */
  session: string
  /** The largest POST body the server takes, in bytes (one frame is sent alone even when bigger). */
  maxBody: number
}

/** The last event of a stream that the server ended: a close code (common/close-codes.ts) and its reason. */
export interface StreamClose {
  code: number
  reason: string
}

/** The path of the stream of document `doc`, each segment percent-encoded. */
export function streamPath (doc: string): string {
  return `${STREAM_PREFIX}/${doc.split('/').map(encodeURIComponent).join('/')}`
}

const NOT_BASE64 = /[^A-Za-z0-9+/=]/

/**
 * Whether `line` is base64 as the stream and POST bodies carry it (standard
 * alphabet, padded). Checked without a backtracking pattern: a line may be
 * megabytes long.
 */
export function isBase64 (line: string): boolean {
  if (line.length % 4 !== 0 || NOT_BASE64.test(line)) return false
  const pad = line.indexOf('=')
  return pad === -1 || (pad >= line.length - 2 && (pad === line.length - 1 || line[line.length - 1] === '='))
}

/** The base64 length of `bytes` bytes. */
export function base64Length (bytes: number): number {
  return Math.ceil(bytes / 3) * 4
}
