/**
 * The sync endpoint: every connection of this instance, whatever carries it,
 * and the admission each new one goes through before anything is loaded or
 * read. The transports — upgrade.ts (WebSocket) and stream.ts (the HTTP
 * fallback, docs/protocol.md) — only say how a client is refused or taken
 * in; both meet the same checks, budgets and documents.
 *
 * Budgets (docs/configuration.md, "Limits"), checked in this order:
 *   MAX_PENDING_UPGRADES     requests not yet admitted: HTTP 503
 *   (origin)                 4403
 *   (document name)          4400
 *   (draining)               4503 "instance draining; retry-after=…"
 *   MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND  4503 "too many new connections from this address; retry-after=…"
 *   MAX_NEW_CONNECTIONS_PER_SECOND         4503 "instance busy; retry-after=…"
 *   MAX_CONNECTIONS          4503 "instance full; retry-after=…"
 *   MAX_CONNECTIONS_PER_IP   4429 "too many connections from this address"
 *   (token)                  4401 / 4403
 *   MAX_CONNECTIONS_PER_USER 4429 "too many connections for this user" (with AUTH_SECRET)
 * and, for the connections' lifetime, MAX_INSTANCE_BACKLOG_BYTES (sweepBacklog).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { AuthError, type Authenticator, type Identity } from '../auth/token.js'
import { Connection, type Channel, type ConnectionLimits } from './connection.js'
import { Admission, type AdmissionLimits, type Holder } from './admission.js'
import { ConnectionRate, type ConnectionRateLimits } from './connection-rate.js'
import { CLOSE, RATE_LIMIT_REASONS, UNAVAILABLE_REASONS, withRetryAfter } from '../../common/close-codes.js'
import type { DocumentRegistry } from '../document/registry.js'
import { LIMIT, TRANSPORTS, type Metrics, type Transport } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'
import { WebSocketUpgrades } from './upgrade.js'
import { StreamTransport } from './stream.js'

/** The hint a client refused because the instance is full gets: connections come and go slowly. */
export const FULL_RETRY_AFTER_MS = 5_000

/** A drain closes connections in batches this far apart (closeSpread). */
export const DRAIN_BATCH_MS = 100

export interface EndpointDeps {
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
  originRefusal?: (req: IncomingMessage) => { reason: string, detail?: string } | null
  /** CORS for an allowed cross-origin request (server/http/origin.ts): true when it answered a preflight. */
  cors?: (req: IncomingMessage, res: ServerResponse) => boolean
  /** Told of each connection once admitted and once closed (the library's onConnect / onDisconnect, docs/server-library.md). */
  lifecycle?: ConnectionLifecycle
}

/** Who follows connections coming and going; called synchronously, so it must not throw. */
export interface ConnectionLifecycle {
  opened (conn: Connection): void
  closed (conn: Connection): void
}

/** A request to connect, as its transport presents it to the admission. */
export interface Applicant {
  readonly transport: Transport
  readonly req: IncomingMessage
  /** What holds the request's resources: its per-address count lasts until this closes. */
  readonly holder: Holder
  /** The document name the request asks for; null when it is not a valid one. */
  readonly docName: string | null
  /** The client went away meanwhile: nothing to refuse or accept. */
  readonly gone: boolean
  /** Tell the client why not (a close code and its reason); counted by the endpoint. */
  refuse (code: number, reason: string): void
  /**
   * Take the client in: called synchronously after the last check, so that
   * nobody else is admitted in between. Calls `endpoint.accept`.
   */
  accept (admitted: Admitted): void
}

/** Who was admitted, to what. */
export interface Admitted {
  identity: Identity
  docName: string
  /** The client asked for Quire's extensions (`?ack=1`). */
  wantsAcks: boolean
  /** The per-user budget applies (auth on): the user is counted until the connection goes. */
  perUser: boolean
}

export class SyncEndpoint {
  readonly connections = new Set<Connection>()
  readonly websocket: WebSocketUpgrades
  readonly stream: StreamTransport
  private readonly admission: Admission
  private readonly byTransport: Record<Transport, number> = { websocket: 0, stream: 0 }
  private readonly rate: ConnectionRate
  /** While draining: the hint refused clients get (ms); null while accepting. */
  private drainingHint: (() => number) | null = null

  constructor (readonly deps: EndpointDeps) {
    this.admission = new Admission(deps.admission, deps.metrics)
    this.rate = new ConnectionRate(deps.connectionRate)
    this.websocket = new WebSocketUpgrades(this)
    this.stream = new StreamTransport(this)
  }

  /** Stop admitting connections (draining); new ones get 4503 with the hint `retryAfterMs()` gives. */
  stopAccepting (retryAfterMs: () => number = () => 0): void { this.drainingHint = retryAfterMs }

  /** Forget the pace of addresses that have been quiet (the housekeeping tick). */
  sweepRates (): void { this.rate.sweep() }

  /** A WebSocket upgrade request (the server's 'upgrade' event). */
  handleUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.websocket.handleUpgrade(req, socket, head)
  }

  /** A plain HTTP request: true when it was the stream transport's (STREAM_PREFIX) and is answered. */
  handleRequest (req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    return this.stream.handle(req, res, pathname)
  }

  /**
   * Count a request as pending until `admitted()` or until `holder` closes;
   * null when MAX_PENDING_UPGRADES are already pending (counted; the
   * transport answers HTTP 503).
   */
  holdPending (holder: Holder): { admitted: () => void } | null {
    const pending = this.admission.holdPending(holder)
    if (pending === null) this.deps.metrics.refusals.inc({ limit: LIMIT.pendingUpgrades })
    return pending
  }

  /** Run every check on `applicant`, then refuse it or accept it. */
  async admit (applicant: Applicant): Promise<void> {
    const { req } = applicant
    const url = new URL(req.url ?? '/', 'http://localhost')
    // Before anything else: a page from elsewhere learns nothing, not even whether its doc name is valid.
    const foreign = this.deps.originRefusal?.(req) ?? null
    if (foreign !== null) return this.refuse(applicant, CLOSE.forbidden, foreign.reason)
    const docName = applicant.docName
    if (docName === null) return this.refuse(applicant, CLOSE.badRequest, 'invalid document name')
    if (this.drainingHint !== null) return this.refuse(applicant, CLOSE.unavailable, withRetryAfter(UNAVAILABLE_REASONS.draining, this.drainingHint()))
    const address = this.deps.clientAddress(req)
    const pace = this.rate.admit(address)
    if (!pace.admitted) {
      const [reason, limit] = pace.limit === 'address'
        ? [UNAVAILABLE_REASONS.addressBusy, LIMIT.newConnectionsPerIp]
        : [UNAVAILABLE_REASONS.busy, LIMIT.newConnections]
      return this.refuse(applicant, CLOSE.unavailable, withRetryAfter(reason, pace.retryAfterMs), limit)
    }
    if (this.full()) return this.refuseFull(applicant)
    if (!this.admission.holdAddress(applicant.holder, address)) {
      return this.refuse(applicant, CLOSE.rateLimited, RATE_LIMIT_REASONS.connectionsPerAddress, LIMIT.connectionsPerIp)
    }
    const header = req.headers.authorization
    const token = url.searchParams.get('token') ?? (header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined)
    let identity: Identity
    try {
      identity = await this.deps.auth.authenticate(token ?? undefined, docName, req)
    } catch (err) {
      if (err instanceof AuthError) return this.refuse(applicant, err.code, err.message, err.limit)
      throw err
    }
    if (applicant.gone) return
    // Others may have been admitted while the token was checked.
    if (this.full()) return this.refuseFull(applicant)
    // In open mode everyone is "anonymous": only the per-address budget applies.
    const perUser = !this.deps.auth.open
    if (perUser && this.admission.userFull(identity.userId)) {
      return this.refuse(applicant, CLOSE.rateLimited, RATE_LIMIT_REASONS.connectionsPerUser, LIMIT.connectionsPerUser)
    }
    applicant.accept({ identity, docName, wantsAcks: url.searchParams.get('ack') === '1', perUser })
  }

  /** A new connection on `channel`: counted, registered, attached to its document once loaded. */
  accept (channel: Channel, admitted: Admitted): Connection {
    const { registry, metrics, log, rateLimit, workBudget, keepAliveMs, auth } = this.deps
    const { identity, docName, wantsAcks, perUser } = admitted
    if (perUser) this.admission.addUser(identity.userId)
    const options = { identity, verified: !auth.open, workBudget, docName, wantsAcks, rateLimit, keepAliveMs, limits: this.deps.connection, metrics, log }
    const conn = new Connection(channel, options, (c) => {
      this.connections.delete(c)
      this.byTransport[c.transport]--
      if (perUser) this.admission.removeUser(identity.userId)
      this.updateGauges()
      const doc = c.document
      if (doc) registry.release(doc)
      this.deps.lifecycle?.closed(c)
    })
    this.connections.add(conn)
    this.byTransport[conn.transport]++
    this.updateGauges()
    metrics.connectionsAccepted.inc()
    this.deps.lifecycle?.opened(conn)
    registry.acquire(docName).then((doc) => {
      if (conn.isClosed) registry.release(doc)
      else conn.attach(doc)
    }, (err: unknown) => {
      log.error({ err, doc: docName }, 'document failed to load')
      metrics.errors.inc({ kind: 'load' })
      conn.close(CLOSE.internalError, 'document failed to load')
    })
    return conn
  }

  private full (): boolean { return this.connections.size >= this.deps.maxConnections }

  private refuseFull (applicant: Applicant): void {
    this.refuse(applicant, CLOSE.unavailable, withRetryAfter(UNAVAILABLE_REASONS.full, FULL_RETRY_AFTER_MS), LIMIT.connections)
  }

  private refuse (applicant: Applicant, code: number, reason: string, limit?: string): void {
    if (applicant.gone) return
    this.deps.metrics.countClose(applicant.transport, code)
    if (limit !== undefined) this.deps.metrics.refusals.inc({ limit })
    applicant.refuse(code, reason)
  }

  private updateGauges (): void {
    const { metrics } = this.deps
    metrics.connections.set(this.connections.size)
    for (const transport of TRANSPORTS) metrics.connectionsByTransport.set({ transport }, this.byTransport[transport])
  }

  /**
   * MAX_INSTANCE_BACKLOG_BYTES, run by the housekeeping tick: when all
   * connections' send backlogs together pass it, close the largest (4503)
   * until the rest fit. Sampling here keeps the send path free of any
   * instance-wide bookkeeping. A first sync answer is the same frames for
   * every client that joins a document at the same time, held once: they
   * count once, so a crowd opening a big document together is not taken
   * for a crowd of slow readers (Connection.backlogParts). Returns the
   * backlog that remains.
   */
  sweepBacklog (): number {
    const parts = new Map<Connection, ReturnType<Connection['backlogParts']>>()
    /** Each shared frame, and how many connections still hold it. */
    const holders = new Map<Uint8Array, number>()
    let total = 0
    for (const conn of this.connections) {
      const part = conn.backlogParts()
      if (part.own === 0 && part.shared.length === 0) continue
      parts.set(conn, part)
      total += part.own
      for (const frame of part.shared) {
        const n = holders.get(frame) ?? 0
        if (n === 0) total += frame.length
        holders.set(frame, n + 1)
      }
    }
    const budget = this.deps.maxInstanceBacklogBytes
    if (total <= budget) return total
    const largest = [...parts].filter(([c]) => c.sendBacklog > 0).sort(([a], [b]) => b.sendBacklog - a.sendBacklog)
    for (const [conn, part] of largest) {
      if (total <= budget) break
      total -= part.own
      for (const frame of part.shared) {
        const n = holders.get(frame)! - 1
        holders.set(frame, n)
        if (n === 0) total -= frame.length
      }
      this.deps.metrics.refusals.inc({ limit: LIMIT.backlogInstance })
      conn.close(CLOSE.unavailable, 'client too slow')
    }
    this.deps.log.warn({ budget, remaining: total }, 'send backlog over MAX_INSTANCE_BACKLOG_BYTES: closed the slowest clients')
    return total
  }

  /** Close every connection with `code`. */
  closeAll (code: number, reason: string): void {
    for (const conn of [...this.connections]) conn.close(code, reason)
  }

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

  /** Stop the transports: WebSockets that do not finish their closing handshake within `graceMs` are cut off. */
  async close (graceMs?: number): Promise<void> {
    this.stream.close()
    await this.websocket.close(graceMs)
  }
}
