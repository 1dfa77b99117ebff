/**
 * One connection, whatever carries it: decodes frames, enforces the rate
 * limit, the work budget, token expiry and the send backlog, hands messages
 * to its document and sends what the document gives it. Messages that arrive
 * while the document loads wait in order. Only the socket part differs
 * between transports: a `Channel` (a WebSocket, socket.ts; or an HTTP
 * stream, stream-channel.ts) sends and closes, and feeds what it receives to
 * `receive`.
 */
import { decodeMessage, encodeAck, encodeSession, KEEPALIVE_FRAME, MESSAGE_SYNC, ProtocolError, SYNC_STEP2 } from '../../common/messages.js'
import type { Peer, SharedDocument } from '../document/document.js'
import type { Identity } from '../auth/token.js'
import { LIMIT, type Metrics, type TrafficCounts, type Transport } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'
import { RateLimiter } from './rate-limit.js'
import { CLOSE, RATE_LIMIT_REASONS } from '../../common/close-codes.js'
import { TrackedTimer } from '../ops/timers.js'

const NOTHING_SHARED: readonly Uint8Array[] = []

/** setTimeout cannot wait longer than this. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** The socket side of a connection (docs/protocol.md: the WebSocket, or the fallback stream). */
export interface Channel {
  /** Which transport carries it (the `transport` label of the metrics). */
  readonly transport: Transport
  /** Whether a frame handed over now still goes out. */
  readonly isOpen: boolean
  /** Bytes handed over but not yet to the network (the send backlog). */
  readonly bufferedAmount: number
  /** Send one y-protocols message; the same frame may go to other peers too (it is not changed). */
  sendShared (frame: Uint8Array): void
  /** Tell the client `code` and `reason`, then end; nothing is sent after it. */
  close (code: number, reason: string): void
}

/** What one connection may make the server hold (docs/configuration.md, "Limits"). */
export interface ConnectionLimits {
  /**
   * MAX_SEND_BACKLOG_BYTES: a client that does not read what it is sent is
   * dropped (4503) rather than buffered for. Checked before each send, so a
   * client under it can always be sent one more message, however big.
   */
  sendBacklogBytes: number
  /** MAX_WAITING_BYTES: what a client may send while its document loads (4503 past it). */
  waitingBytes: number
}

export interface ConnectionOptions {
  identity: Identity
  /** Whether the identity was verified (auth on): then it replaces what the client says in its presence. */
  verified: boolean
  /** Event-loop time this connection may cost, in ms per second sustained and at once (docs/security.md). */
  workBudget: { msPerSecond: number, burstMs: number }
  docName: string
  /** The client asked for acknowledgements (`?ack=1`). */
  wantsAcks: boolean
  rateLimit: { perSecond: number, burst: number }
  /** Send an empty awareness update after this long without sending anything (KEEPALIVE_MS). */
  keepAliveMs: number
  limits: ConnectionLimits
  metrics: Metrics
  log: Logger
}

export class Connection implements Peer {
  readonly clientIds = new Set<number>()
  readonly canWrite: boolean
  readonly user: Peer['user']
  lastSentAt = Date.now()
  private doc: SharedDocument | null = null
  private waiting: Buffer[] = []
  private waitingBytes = 0
  private closed = false
  private expiryTimer: TrackedTimer | null = null
  /**
   * The answer to the client's first sync step 1 is the whole document
   * (however big) for a fresh client: until it has been read, its bytes are
   * allowed on top of the backlog budget, or a fresh client on a slow link
   * could never open a document bigger than the budget. `answering` is set
   * from that step 1 until the answer's sync step 2 has been sent.
   */
  private answering: 'not yet' | 'now' | 'done' = 'not yet'
  private answerAllowance = 0
  /**
   * The frames of that answer while they count on top of the budget. A
   * document hands the same frames to every client that joins it meanwhile
   * (cold-start.ts; SharedDocument's cached full state), so they are held
   * once however many clients they are queued for: the instance budget
   * counts them once (`backlogParts`). They are at the front of the
   * queue: what is queued beyond the bytes sent after them is theirs.
   */
  private answerFrames: Uint8Array[] = []
  private answerBytes = 0
  private sentAfterAnswer = 0
  private readonly limiter: RateLimiter
  private readonly work: RateLimiter
  private readonly traffic: TrafficCounts

  constructor (private readonly channel: Channel, readonly opts: ConnectionOptions, private readonly onGone: (c: Connection) => void) {
    this.canWrite = opts.identity.access === 'write'
    this.user = opts.verified ? { id: opts.identity.userId, name: opts.identity.name } : null
    this.limiter = new RateLimiter(opts.rateLimit.perSecond, opts.rateLimit.burst)
    this.work = new RateLimiter(opts.workBudget.msPerSecond, opts.workBudget.burstMs)
    this.traffic = opts.metrics.traffic
    const expiresAt = opts.identity.expiresAt
    if (expiresAt !== undefined) {
      // Always through a timer, even when the token has already run out
      // between its check and now: closing inside the constructor would run
      // onGone before the endpoint has even registered this connection.
      const expire = (): void => {
        const left = expiresAt - Date.now()
        if (left <= 0) {
          this.expiryTimer = null
          this.close(CLOSE.unauthorized, 'token expired')
        } else {
          this.expiryTimer = new TrackedTimer(opts.metrics.timersActive, expire, Math.min(left, MAX_TIMER_MS))
        }
      }
      this.expiryTimer = new TrackedTimer(opts.metrics.timersActive, expire, Math.min(Math.max(0, expiresAt - Date.now()), MAX_TIMER_MS))
    }
    if (opts.wantsAcks) this.send(encodeSession({ access: this.canWrite ? 'write' : 'read' }))
  }

  get transport (): Transport { return this.channel.transport }
  get isClosed (): boolean { return this.closed }
  get sendBacklog (): number { return this.channel.bufferedAmount }

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
    const channel = this.channel
    if (this.closed || !channel.isOpen) return
    const backlog = channel.bufferedAmount
    const budget = this.opts.limits.sendBacklogBytes
    if (backlog > budget + this.answerAllowance) {
      this.opts.metrics.refusals.inc({ limit: LIMIT.backlogConnection })
      this.close(CLOSE.unavailable, 'client too slow')
      return
    }
    if (this.answering === 'now') {
      this.answerAllowance += frame.length
      this.answerFrames.push(frame)
      this.answerBytes += frame.length
      if (frame[0] === MESSAGE_SYNC && frame[1] === SYNC_STEP2) this.answering = 'done'
    } else {
      if (this.answerAllowance > 0 && backlog <= budget) this.answerAllowance = 0
      if (this.answerFrames.length > 0 && this.answerQueued(backlog) === 0) this.forgetAnswer()
      else if (this.answerFrames.length > 0) this.sentAfterAnswer += frame.length
    }
    // A broadcast hands every peer the same frame: each transport encodes it once for all of them.
    channel.sendShared(frame)
    this.lastSentAt = Date.now()
    this.traffic.messagesOut++
    this.traffic.bytesOut += frame.length
  }

  /**
   * The send backlog for the instance budget (SyncEndpoint.sweepBacklog):
   * the frames of the first sync answer still counted on top of this
   * connection's budget (`shared`: the same objects other joiners of the
   * document hold, to be counted once), and the rest (`own`).
   */
  backlogParts (): { own: number, shared: readonly Uint8Array[] } {
    const backlog = this.channel.bufferedAmount
    if (this.answerFrames.length === 0) return { own: backlog, shared: NOTHING_SHARED }
    const queued = this.answerQueued(backlog)
    if (queued === 0 && this.answering !== 'now') {
      this.forgetAnswer()
      return { own: backlog, shared: NOTHING_SHARED }
    }
    return { own: backlog - queued, shared: this.answerFrames }
  }

  /** Bytes of the first sync answer still queued: it went first, so all of the backlog beyond what was sent after it. */
  private answerQueued (backlog: number): number {
    return Math.max(0, Math.min(this.answerBytes, backlog - this.sentAfterAnswer))
  }

  private forgetAnswer (): void {
    this.answerFrames = []
    this.answerBytes = 0
    this.sentAfterAnswer = 0
  }

  /** The document reloads (it was tainted by another client's garbage): reconnect, 1011 is transient. */
  evict (): void {
    this.close(CLOSE.internalError, 'document reloading')
  }

  charge (ms: number): void {
    if (this.work.charge(ms)) return
    this.opts.metrics.refusals.inc({ limit: LIMIT.workBudget })
    this.close(CLOSE.rateLimited, RATE_LIMIT_REASONS.work)
  }

  refuse (code: number, reason: string): void {
    this.close(code, reason)
  }

  acknowledge (count: number): void {
    if (this.opts.wantsAcks) this.send(encodeAck(count))
  }

  keepAlive (now: number): void {
    if (now - this.lastSentAt < this.opts.keepAliveMs) return
    // A peer still owed its awareness snapshot gets that (the first awareness it sees must be the states held).
    if (this.doc?.keepAlive(this) === true) return
    this.send(KEEPALIVE_FRAME)
  }

  close (code: number, reason: string): void {
    if (this.closed) return
    this.opts.metrics.countClose(this.channel.transport, code)
    this.channel.close(code, reason)
    this.channelGone()
  }

  /** One binary message from the client (the channel has checked it is one). */
  receive (data: Buffer): void {
    if (this.closed) return
    if (!this.limiter.take()) {
      this.close(CLOSE.rateLimited, RATE_LIMIT_REASONS.messages)
      return
    }
    this.traffic.bytesIn += data.length
    if (this.doc !== null) return this.process(data)
    this.waitingBytes += data.length
    if (this.waitingBytes > this.opts.limits.waitingBytes) {
      this.opts.metrics.refusals.inc({ limit: LIMIT.waitingBytes })
      return this.close(CLOSE.unavailable, 'too much sent while the document loads')
    }
    this.waiting.push(data)
  }

  /** The channel is gone (the client closed it, or it broke): leave the document. */
  channelGone (): void {
    if (this.closed) return
    this.closed = true
    this.waiting = []
    this.expiryTimer?.clear()
    this.expiryTimer = null
    if (this.doc) this.doc.removePeer(this)
    this.onGone(this)
  }

  private process (data: Buffer): void {
    const doc = this.doc!
    try {
      const message = decodeMessage(data)
      const byType = this.traffic.messagesIn
      byType.set(message.type, (byType.get(message.type) ?? 0) + 1)
      switch (message.type) {
        case 'sync-step1':
          if (this.answering === 'not yet') this.answering = 'now'
          doc.handleSyncStep1(this, message.stateVector)
          break
        case 'sync-step2':
        case 'update': doc.handleUpdate(this, message.update); break
        case 'awareness': doc.handleAwareness(this, message.update); break
        case 'query-awareness': doc.handleQueryAwareness(this); break
        case 'auth': break
      }
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.opts.metrics.errors.inc({ kind: 'protocol' })
        this.close(err.code, err.message)
      } else {
        this.opts.metrics.errors.inc({ kind: 'internal' })
        this.opts.log.error({ err, doc: this.opts.docName }, 'message handling failed')
        this.close(CLOSE.internalError, 'internal error')
      }
    }
  }

  /** The document this connection is on, once attached. */
  get document (): SharedDocument | null { return this.doc }
}
