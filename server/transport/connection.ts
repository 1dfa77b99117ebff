/**
 * One WebSocket connection: decodes frames, enforces the rate limit, hands
 * messages to its document and sends what the document gives it. Messages
 * that arrive while the document loads wait in order.
 */
import { WebSocket } from 'ws'
import { decodeMessage, encodeAck, encodeSession, KEEPALIVE_FRAME, ProtocolError } from '../protocol/messages.js'
import type { Peer, SharedDocument } from '../document/document.js'
import type { Identity } from '../auth/token.js'
import type { Metrics } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'
import { RateLimiter } from './rate-limit.js'
import { CLOSE } from './close-codes.js'

/** Stock clients reconnect after 30 s of silence; speak at least every 10 s. */
export const KEEPALIVE_MS = 10_000
/** A client that cannot take what we send is dropped rather than buffered forever. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024
/** setTimeout cannot wait longer than this. */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface ConnectionOptions {
  identity: Identity
  docName: string
  /** The client asked for acknowledgements (`?ack=1`). */
  wantsAcks: boolean
  rateLimit: { perSecond: number, burst: number }
  metrics: Metrics
  log: Logger
}

export class Connection implements Peer {
  readonly clientIds = new Set<number>()
  readonly canWrite: boolean
  lastSentAt = Date.now()
  private doc: SharedDocument | null = null
  private waiting: Buffer[] = []
  private closed = false
  private expiryTimer: NodeJS.Timeout | null = null
  private readonly limiter: RateLimiter

  constructor (private readonly ws: WebSocket, readonly opts: ConnectionOptions, private readonly onGone: (c: Connection) => void) {
    this.canWrite = opts.identity.access === 'write'
    this.limiter = new RateLimiter(opts.rateLimit.perSecond, opts.rateLimit.burst)
    ws.binaryType = 'nodebuffer'
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary))
    ws.on('close', () => this.onClose())
    ws.on('error', (err) => opts.log.debug({ err, doc: opts.docName }, 'socket error'))
    const expiresAt = opts.identity.expiresAt
    if (expiresAt !== undefined) {
      const expire = (): void => {
        const left = expiresAt - Date.now()
        if (left <= 0) this.close(CLOSE.unauthorized, 'token expired')
        else this.expiryTimer = setTimeout(expire, Math.min(left, MAX_TIMER_MS))
      }
      expire()
    }
    if (opts.wantsAcks) this.send(encodeSession({ access: this.canWrite ? 'write' : 'read' }))
  }

  get hasTimer (): boolean { return this.expiryTimer !== null }
  get isClosed (): boolean { return this.closed }

  /** The document is loaded: join it and process what arrived meanwhile. */
  attach (doc: SharedDocument): void {
    if (this.closed) return
    this.doc = doc
    doc.addPeer(this)
    const waiting = this.waiting
    this.waiting = []
    for (const data of waiting) {
      if (this.closed) break
      this.process(data)
    }
  }

  send (frame: Uint8Array): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.close(CLOSE.unavailable, 'client too slow')
      return
    }
    this.ws.send(frame, { binary: true })
    this.lastSentAt = Date.now()
    this.opts.metrics.messagesOut.inc()
    this.opts.metrics.bytesOut.inc(frame.length)
  }

  acknowledge (count: number): void {
    if (this.opts.wantsAcks) this.send(encodeAck(count))
  }

  keepAlive (now: number): void {
    if (now - this.lastSentAt >= KEEPALIVE_MS) this.send(KEEPALIVE_FRAME)
  }

  close (code: number, reason: string): void {
    if (this.closed) return
    this.opts.metrics.closes.inc({ code: String(code) })
    this.ws.close(code, reason)
    this.onClose()
  }

  private onMessage (data: Buffer, isBinary: boolean): void {
    if (this.closed) return
    if (!isBinary) {
      this.close(CLOSE.badRequest, 'text frames are not accepted')
      return
    }
    if (!this.limiter.take()) {
      this.close(CLOSE.rateLimited, 'message rate limit exceeded')
      return
    }
    this.opts.metrics.bytesIn.inc(data.length)
    if (this.doc === null) this.waiting.push(data)
    else this.process(data)
  }

  private process (data: Buffer): void {
    const doc = this.doc!
    try {
      const message = decodeMessage(data)
      this.opts.metrics.messagesIn.inc({ type: message.type })
      switch (message.type) {
        case 'sync-step1': doc.handleSyncStep1(this, message.stateVector); break
        case 'sync-step2':
        case 'update': doc.handleUpdate(this, message.update); break
        case 'awareness': doc.handleAwareness(this, message.update); break
        case 'query-awareness': doc.handleQueryAwareness(this); break
        case 'auth': break
      }
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.opts.metrics.errors.inc({ kind: 'protocol' })
        this.close(CLOSE.badRequest, err.message)
      } else {
        this.opts.metrics.errors.inc({ kind: 'internal' })
        this.opts.log.error({ err, doc: this.opts.docName }, 'message handling failed')
        this.close(CLOSE.internalError, 'internal error')
      }
    }
  }

  private onClose (): void {
    if (this.closed) return
    this.closed = true
    this.waiting = []
    if (this.expiryTimer) clearTimeout(this.expiryTimer)
    this.expiryTimer = null
    if (this.doc) this.doc.removePeer(this)
    this.onGone(this)
  }

  /** The document this connection is on, once attached. */
  get document (): SharedDocument | null { return this.doc }
}
