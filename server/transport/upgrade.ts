/**
 * The WebSocket upgrade: doc name, token and admission are decided on the
 * request itself, before any document is loaded or any message read. A
 * refused client still completes the handshake so it can be told why with a
 * close code (browsers cannot see an HTTP status on a failed upgrade); its
 * socket is then freed within CLOSE_GRACE_MS whether or not it answers.
 *
 * Budgets (docs/configuration.md, "Limits"), checked in this order:
 *   MAX_PENDING_UPGRADES     upgrades not yet admitted: HTTP 503, no handshake
 *   (draining)               4503 "instance draining; retry-after=…"
 *   MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND  4503 "too many new connections from this address; retry-after=…"
 *   MAX_NEW_CONNECTIONS_PER_SECOND         4503 "instance busy; retry-after=…"
 *   MAX_CONNECTIONS          4503 "instance full; retry-after=…"
 *   MAX_CONNECTIONS_PER_IP   4429 "too many connections from this address"
 *   (token)                  4401 / 4403
 *   MAX_CONNECTIONS_PER_USER 4429 "too many connections for this user" (with AUTH_SECRET)
 * and, for the connections' lifetime, MAX_INSTANCE_BACKLOG_BYTES (sweepBacklog).
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type ServerOptions } from 'ws'
import { docNameFromPath } from '../../common/doc-name.js'
import { AuthError, type Authenticator, type Identity } from '../auth/token.js'
import { Connection, type ConnectionLimits } from './connection.js'
import { QuireSocket } from './socket.js'
import { Admission, type AdmissionLimits } from './admission.js'
import { ConnectionRate, type ConnectionRateLimits } from './connection-rate.js'
import { CLOSE, RATE_LIMIT_REASONS, UNAVAILABLE_REASONS, withRetryAfter } from '../../common/close-codes.js'
import type { DocumentRegistry } from '../document/registry.js'
import { LIMIT, type Metrics } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'

/**
 * How long a closed socket may wait for the client's closing handshake
 * before it is cut off (ws waits 30 s by default). A refused or too slow
 * client that never answers would otherwise hold its socket, and what was
 * queued for it, that long.
 */
export const CLOSE_GRACE_MS = 1000

/** The hint a client refused because the instance is full gets: connections come and go slowly. */
export const FULL_RETRY_AFTER_MS = 5_000

/** A drain closes connections in batches this far apart (closeSpread). */
export const DRAIN_BATCH_MS = 100

/** The answer to an upgrade beyond MAX_PENDING_UPGRADES: no handshake, the socket is dropped at once. */
const PENDING_FULL_BODY = 'too many pending upgrades\n'
const PENDING_FULL_RESPONSE = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n' +
  `Content-Type: text/plain\r\nContent-Length: ${PENDING_FULL_BODY.length}\r\n\r\n${PENDING_FULL_BODY}`

export interface UpgradeDeps {
  auth: Authenticator
  registry: DocumentRegistry
  metrics: Metrics
  log: Logger
  maxMessageBytes: number
  maxConnections: number
  admission: AdmissionLimits
  /** The pace of new connections (connection-rate.ts). */
  connectionRate: ConnectionRateLimits
  connection: ConnectionLimits
  /** MAX_INSTANCE_BACKLOG_BYTES */
  maxInstanceBacklogBytes: number
  /** The client address per-address budgets count (client-address.ts). */
  clientAddress: (req: IncomingMessage) => string
  rateLimit: { perSecond: number, burst: number }
  workBudget: { msPerSecond: number, burstMs: number }
  keepAliveMs: number
  /** Why this request's page may not connect (its Origin), or null (server/http/origin.ts). */
  originRefusal?: (req: IncomingMessage) => { reason: string } | null
}

export class SyncEndpoint {
  readonly connections = new Set<Connection>()
  private readonly wss: WebSocketServer
  private readonly admission: Admission
  private readonly rate: ConnectionRate
  /** While draining: the hint refused clients get (ms); null while accepting. */
  private drainingHint: (() => number) | null = null

  constructor (private readonly deps: UpgradeDeps) {
    // closeTimeout is ws's (8.23+), not yet in its type definitions.
    const options: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      maxPayload: deps.maxMessageBytes,
      perMessageDeflate: false,
      WebSocket: QuireSocket,
      closeTimeout: CLOSE_GRACE_MS,
    }
    this.wss = new WebSocketServer(options)
    this.admission = new Admission(deps.admission, deps.metrics)
    this.rate = new ConnectionRate(deps.connectionRate)
  }

  /** Stop admitting connections (draining); new ones get 4503 with the hint `retryAfterMs()` gives. */
  stopAccepting (retryAfterMs: () => number = () => 0): void { this.drainingHint = retryAfterMs }

  handleUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    const pending = this.admission.holdPending(socket)
    if (pending === null) {
      this.deps.metrics.refusals.inc({ limit: LIMIT.pendingUpgrades })
      // The answer fits the fresh socket's send buffer: it leaves before the socket is destroyed.
      socket.write(PENDING_FULL_RESPONSE)
      socket.destroy()
      return
    }
    void this.admit(req, socket, head, pending.admitted).catch((err) => {
      this.deps.log.error({ err }, 'upgrade failed')
      socket.destroy()
    })
  }

  private async admit (req: IncomingMessage, socket: Duplex, head: Buffer, admitted: () => void): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    // Before anything else: a page from elsewhere learns nothing, not even whether its doc name is valid.
    const foreign = this.deps.originRefusal?.(req) ?? null
    if (foreign !== null) return this.refuse(req, socket, head, CLOSE.forbidden, foreign.reason)
    const docName = docNameFromPath(req.url ?? '/')
    if (docName === null) return this.refuse(req, socket, head, CLOSE.badRequest, 'invalid document name')
    if (this.drainingHint !== null) return this.refuse(req, socket, head, CLOSE.unavailable, withRetryAfter(UNAVAILABLE_REASONS.draining, this.drainingHint()))
    const address = this.deps.clientAddress(req)
    const pace = this.rate.admit(address)
    if (!pace.admitted) {
      const [reason, limit] = pace.limit === 'address'
        ? [UNAVAILABLE_REASONS.addressBusy, LIMIT.newConnectionsPerIp]
        : [UNAVAILABLE_REASONS.busy, LIMIT.newConnections]
      return this.refuse(req, socket, head, CLOSE.unavailable, withRetryAfter(reason, pace.retryAfterMs), limit)
    }
    if (this.full()) return this.refuseFull(req, socket, head)
    if (!this.admission.holdAddress(socket, address)) {
      return this.refuse(req, socket, head, CLOSE.rateLimited, RATE_LIMIT_REASONS.connectionsPerAddress, LIMIT.connectionsPerIp)
    }
    const header = req.headers.authorization
    const token = url.searchParams.get('token') ?? (header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined)
    let identity: Identity
    try {
      identity = await this.deps.auth.authenticate(token ?? undefined, docName)
    } catch (err) {
      if (err instanceof AuthError) return this.refuse(req, socket, head, err.code, err.message)
      throw err
    }
    if (socket.destroyed) return
    // Others may have been admitted while the token was checked.
    if (this.full()) return this.refuseFull(req, socket, head)
    // In open mode everyone is "anonymous": only the per-address budget applies.
    const perUser = !this.deps.auth.open
    if (perUser && this.admission.userFull(identity.userId)) {
      return this.refuse(req, socket, head, CLOSE.rateLimited, RATE_LIMIT_REASONS.connectionsPerUser, LIMIT.connectionsPerUser)
    }
    // handleUpgrade calls back synchronously: nobody else is admitted between the checks and accept.
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      admitted()
      this.accept(ws as QuireSocket, identity, docName, url.searchParams.get('ack') === '1', perUser)
    })
  }

  private full (): boolean { return this.connections.size >= this.deps.maxConnections }

  private refuseFull (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.refuse(req, socket, head, CLOSE.unavailable, withRetryAfter(UNAVAILABLE_REASONS.full, FULL_RETRY_AFTER_MS), LIMIT.connections)
  }

  private accept (ws: QuireSocket, identity: Identity, docName: string, wantsAcks: boolean, perUser: boolean): void {
    const { registry, metrics, log } = this.deps
    if (perUser) this.admission.addUser(identity.userId)
    const { rateLimit, workBudget, keepAliveMs, auth } = this.deps
    const options = { identity, verified: !auth.open, workBudget, docName, wantsAcks, rateLimit, keepAliveMs, limits: this.deps.connection, metrics, log }
    const conn = new Connection(ws, options, (c) => {
      this.connections.delete(c)
      if (perUser) this.admission.removeUser(identity.userId)
      metrics.connections.set(this.connections.size)
      const doc = c.document
      if (doc) registry.release(doc)
    })
    this.connections.add(conn)
    metrics.connections.set(this.connections.size)
    metrics.connectionsAccepted.inc()
    registry.acquire(docName).then((doc) => {
      if (conn.isClosed) registry.release(doc)
      else conn.attach(doc)
    }, (err: unknown) => {
      log.error({ err, doc: docName }, 'document failed to load')
      metrics.errors.inc({ kind: 'load' })
      conn.close(CLOSE.internalError, 'document failed to load')
    })
  }

  /** Complete the handshake only to close with `code`; the socket stays a pending upgrade until it is gone. */
  private refuse (req: IncomingMessage, socket: Duplex, head: Buffer, code: number, reason: string, limit?: string): void {
    if (socket.destroyed) return
    this.deps.metrics.closes.inc({ code: String(code) })
    if (limit !== undefined) this.deps.metrics.refusals.inc({ limit })
    this.wss.handleUpgrade(req, socket, head, (ws) => ws.close(code, reason))
  }

  /**
   * MAX_INSTANCE_BACKLOG_BYTES, run by the housekeeping tick: when all
   * connections' send backlogs together pass it, close the largest (4503)
   * until the rest fit. Sampling here keeps the send path free of any
   * instance-wide bookkeeping. Returns the backlog that remains.
   */
  sweepBacklog (): number {
    let total = 0
    for (const conn of this.connections) total += conn.sendBacklog
    const budget = this.deps.maxInstanceBacklogBytes
    if (total <= budget) return total
    const largest = [...this.connections].filter((c) => c.sendBacklog > 0).sort((a, b) => b.sendBacklog - a.sendBacklog)
    for (const conn of largest) {
      if (total <= budget) break
      total -= conn.sendBacklog
      this.deps.metrics.refusals.inc({ limit: LIMIT.backlogInstance })
      conn.close(CLOSE.unavailable, 'client too slow')
    }
    this.deps.log.warn({ budget, remaining: total }, 'send backlog over MAX_INSTANCE_BACKLOG_BYTES: closed the slowest clients')
    return total
  }

  /** Forget the pace of addresses that have been quiet (the housekeeping tick). */
  sweepRates (): void { this.rate.sweep() }

  /**
   * Close every connection with `code` (a drain), in batches DRAIN_BATCH_MS
   * apart spread over `spreadMs`, so that the clients do not all land on
   * the other instances at once. Connections are taken in document order,
   * so a document's clients mostly go in one batch and move together; each
   * batch's documents are durable before its clients are told to go.
   * `wait(ms)` pauses between batches (a counted timer).
   */
  async closeSpread (code: number, reason: string, spreadMs: number, wait: (ms: number) => Promise<void>): Promise<void> {
    const order = [...this.connections].sort((a, b) => a.opts.docName < b.opts.docName ? -1 : a.opts.docName > b.opts.docName ? 1 : 0)
    const batches = Math.max(1, Math.min(order.length, Math.floor(spreadMs / DRAIN_BATCH_MS)))
    for (let i = 0; i < batches; i++) {
      if (i > 0) await wait(spreadMs / batches)
      const batch = order.slice(Math.floor(i * order.length / batches), Math.floor((i + 1) * order.length / batches))
      const docs = new Set(batch.map((c) => c.document).filter((d) => d !== null))
      await Promise.all([...docs].map((d) => d.whenDurable()))
      for (const conn of batch) conn.close(code, reason)
    }
  }

  /**
   * Stop the WebSocket server. ws waits for every socket's closing handshake;
   * a client that never answers would hold the drain for ws's 30 s close
   * timeout, so after `graceMs` the stragglers are cut off.
   */
  async close (graceMs = 1000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.wss.close(() => resolve()))
    let grace: NodeJS.Timeout | undefined
    const cut = new Promise<void>((resolve) => {
      grace = setTimeout(() => {
        for (const ws of this.wss.clients) ws.terminate()
        resolve()
      }, graceMs)
    })
    await Promise.race([closed, cut])
    clearTimeout(grace)
    await closed
  }
}
