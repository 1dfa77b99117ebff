/**
 * The fallback transport (docs/protocol.md, "The fallback transport"), for
 * networks whose proxies refuse WebSocket upgrades: `GET /sync/<doc>` opens
 * a Server-Sent Events stream that carries the server's frames
 * (stream-channel.ts) and names a session; `POST /sync/<doc>?session=<id>`
 * carries the client's frames, one base64 line each, to that session's
 * connection. The request goes through the endpoint's admission like a
 * WebSocket upgrade (origin, name, budgets, token) and the connection is a
 * Connection like any other: same limits, acks, presence and close codes.
 *
 * A session lives exactly as long as its stream: when the response closes
 * (the client left, or the server closed it) the connection leaves its
 * document and later POSTs get 404. A POST is read only for a session this
 * instance holds, one at a time per session (a second one meanwhile: 409),
 * and up to `maxBody` bytes (beyond: the session closes with 4413).
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { docNameFromPath } from '../../common/doc-name.js'
import { CLOSE } from '../../common/close-codes.js'
import { base64Length, isBase64, STREAM_PREFIX, STREAM_SESSION_PARAM, type StreamClose } from '../../common/stream.js'
import { LIMIT } from '../ops/metrics.js'
import type { Connection } from './connection.js'
import type { Applicant, SyncEndpoint } from './endpoint.js'
import { refuseStream, StreamChannel } from './stream-channel.js'

/** Bytes of randomness in a session id: it is the capability to write into the connection. */
const SESSION_ID_BYTES = 18

interface Session {
  conn: Connection
  channel: StreamChannel
  docName: string
  /** A POST of this session is being read. */
  posting: boolean
}

export class StreamTransport {
  private readonly sessions = new Map<string, Session>()
  /** The largest POST body: one frame of MAX_MESSAGE_BYTES, base64, and its line end. */
  readonly maxBody: number

  constructor (private readonly endpoint: SyncEndpoint) {
    this.maxBody = base64Length(endpoint.deps.maxMessageBytes) + 1
  }

  /** Sessions open now. */
  get size (): number { return this.sessions.size }

  /** Answers `req` when it is the stream transport's (true), else leaves it alone. */
  handle (req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    if (pathname !== STREAM_PREFIX && !pathname.startsWith(`${STREAM_PREFIX}/`)) return false
    // A page on another origin may read the answers (the origin itself is checked below).
    if (this.endpoint.deps.cors?.(req, res)) return true
    if (req.method === 'GET') this.open(req, res)
    else if (req.method === 'POST') this.post(req, res)
    else answer(res, 405, 'GET opens a stream, POST sends to one\n', { allow: 'GET, POST' })
    return true
  }

  /** End what is left (the drain has closed every connection already). */
  close (): void {
    for (const session of [...this.sessions.values()]) session.conn.close(CLOSE.restarting, 'server restarting')
  }

  private open (req: IncomingMessage, res: ServerResponse): void {
    const pending = this.endpoint.holdPending(res)
    if (pending === null) return answer(res, 503, 'too many pending connections\n', { 'retry-after': '1' })
    let gone = false
    res.once('close', () => { gone = true })
    const applicant: Applicant = {
      transport: 'stream',
      req,
      holder: res,
      docName: docNameFromPath((req.url ?? '').slice(STREAM_PREFIX.length)),
      get gone () { return gone },
      refuse: (code, reason) => refuseStream(res, code, reason),
      accept: (admitted) => {
        pending.admitted()
        const id = randomBytes(SESSION_ID_BYTES).toString('base64url')
        const channel = new StreamChannel(res, { session: id, maxBody: this.maxBody })
        const conn = this.endpoint.accept(channel, admitted)
        this.sessions.set(id, { conn, channel, docName: admitted.docName, posting: false })
        res.once('close', () => {
          this.sessions.delete(id)
          conn.channelGone()
        })
      },
    }
    this.endpoint.admit(applicant).catch((err: unknown) => {
      this.endpoint.deps.log.error({ err }, 'stream admission failed')
      res.destroy()
    })
  }

  private post (req: IncomingMessage, res: ServerResponse): void {
    const { deps } = this.endpoint
    const foreign = deps.originRefusal?.(req) ?? null
    if (foreign !== null) return answer(res, 403, `${foreign.detail ?? foreign.reason}\n`)
    const url = new URL(req.url ?? '/', 'http://localhost')
    const session = this.sessions.get(url.searchParams.get(STREAM_SESSION_PARAM) ?? '')
    if (session === undefined || session.docName !== docNameFromPath(url.pathname.slice(STREAM_PREFIX.length))) {
      deps.metrics.streamUnknownSessions.inc()
      return answer(res, 404, 'no such session here\n')
    }
    if (session.posting) {
      deps.metrics.refusals.inc({ limit: LIMIT.streamPostsInFlight })
      return answer(res, 409, 'another POST of this session is still being read\n')
    }
    const { conn, channel } = session
    if (conn.isClosed) return closedAnswer(res, channel.closedWith)
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > this.maxBody) {
      conn.close(CLOSE.tooLarge, 'message too large')
      return closedAnswer(res, channel.closedWith)
    }
    session.posting = true
    const chunks: Buffer[] = []
    let size = 0
    const done = (): void => { session.posting = false }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= this.maxBody) return void chunks.push(chunk)
      req.removeAllListeners('data')
      req.removeAllListeners('end')
      done()
      conn.close(CLOSE.tooLarge, 'message too large')
      closedAnswer(res, channel.closedWith)
    })
    req.on('end', () => {
      done()
      this.feed(conn, Buffer.concat(chunks, size).toString('latin1'))
      if (conn.isClosed) closedAnswer(res, channel.closedWith)
      else answer(res, 204)
    })
    // An aborted POST ends without 'end': the session may post again.
    req.once('close', done)
  }

  /** Hand each line of a POST body, one frame in base64, to the connection. */
  private feed (conn: Connection, body: string): void {
    const maxFrame = this.endpoint.deps.maxMessageBytes
    for (const raw of body.split('\n')) {
      if (conn.isClosed) return
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
      if (line === '') continue
      if (!isBase64(line)) return conn.close(CLOSE.badRequest, 'malformed frame')
      const frame = Buffer.from(line, 'base64')
      if (frame.length > maxFrame) return conn.close(CLOSE.tooLarge, 'message too large')
      conn.receive(frame)
    }
  }
}

/** A short plain answer; `connection: close` on refusals, so an unread body is not waited for. */
function answer (res: ServerResponse, status: number, body = '', headers: Record<string, string> = {}): void {
  if (res.headersSent) return
  const close = status >= 400 ? { connection: 'close' } : {}
  res.writeHead(status, body === '' ? { ...headers, ...close } : { 'content-type': 'text/plain; charset=utf-8', ...headers, ...close })
  res.end(body)
}

/** 410: the session is closed; the body says with what (the same close its stream carries). */
function closedAnswer (res: ServerResponse, closed: StreamClose | null): void {
  if (res.headersSent) return
  res.writeHead(410, { 'content-type': 'application/json', connection: 'close' })
  res.end(JSON.stringify(closed ?? { code: CLOSE.unavailable, reason: 'session closed' }))
}
