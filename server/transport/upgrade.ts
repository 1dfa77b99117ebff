/**
 * The WebSocket upgrade: doc name, token and admission are decided on the
 * request itself, before any document is loaded or any message read. A
 * refused client still completes the handshake so it can be told why with a
 * close code (browsers cannot see an HTTP status on a failed upgrade).
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { docNameFromPath } from '../../common/doc-name.js'
import { AuthError, type Authenticator, type Identity } from '../auth/token.js'
import { Connection } from './connection.js'
import { QuireSocket } from './socket.js'
import { CLOSE } from '../../common/close-codes.js'
import type { DocumentRegistry } from '../document/registry.js'
import type { Metrics } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'

export interface UpgradeDeps {
  auth: Authenticator
  registry: DocumentRegistry
  metrics: Metrics
  log: Logger
  maxMessageBytes: number
  maxConnections: number
  rateLimit: { perSecond: number, burst: number }
  workBudget: { msPerSecond: number, burstMs: number }
  keepAliveMs: number
  /** Why this request's page may not connect (its Origin), or null (server/http/origin.ts). */
  originRefusal?: (req: IncomingMessage) => { reason: string } | null
}

export class SyncEndpoint {
  readonly connections = new Set<Connection>()
  private readonly wss: WebSocketServer
  private accepting = true

  constructor (private readonly deps: UpgradeDeps) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: deps.maxMessageBytes,
      perMessageDeflate: false,
      WebSocket: QuireSocket,
    })
  }

  /** Stop admitting connections (draining); new ones get 4503. */
  stopAccepting (): void { this.accepting = false }

  handleUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    void this.admit(req, socket, head).catch((err) => {
      this.deps.log.error({ err }, 'upgrade failed')
      socket.destroy()
    })
  }

  private async admit (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    // Before anything else: a page from elsewhere learns nothing, not even whether its doc name is valid.
    const foreign = this.deps.originRefusal?.(req) ?? null
    if (foreign !== null) return this.refuse(req, socket, head, CLOSE.forbidden, foreign.reason)
    const docName = docNameFromPath(req.url ?? '/')
    if (docName === null) return this.refuse(req, socket, head, CLOSE.badRequest, 'invalid document name')
    if (!this.accepting) return this.refuse(req, socket, head, CLOSE.unavailable, 'instance draining')
    if (this.connections.size >= this.deps.maxConnections) return this.refuse(req, socket, head, CLOSE.unavailable, 'instance full')
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
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws as QuireSocket, identity, docName, url.searchParams.get('ack') === '1'))
  }

  private accept (ws: QuireSocket, identity: Identity, docName: string, wantsAcks: boolean): void {
    const { registry, metrics, log } = this.deps
    const { rateLimit, workBudget, keepAliveMs, auth } = this.deps
    const conn = new Connection(ws, { identity, verified: !auth.open, workBudget, docName, wantsAcks, rateLimit, keepAliveMs, metrics, log }, (c) => {
      this.connections.delete(c)
      metrics.connections.set(this.connections.size)
      const doc = c.document
      if (doc) registry.release(doc)
    })
    this.connections.add(conn)
    metrics.connections.set(this.connections.size)
    registry.acquire(docName).then((doc) => {
      if (conn.isClosed) registry.release(doc)
      else conn.attach(doc)
    }, (err: unknown) => {
      log.error({ err, doc: docName }, 'document failed to load')
      metrics.errors.inc({ kind: 'load' })
      conn.close(CLOSE.internalError, 'document failed to load')
    })
  }

  private refuse (req: IncomingMessage, socket: Duplex, head: Buffer, code: number, reason: string): void {
    if (socket.destroyed) return
    this.deps.metrics.closes.inc({ code: String(code) })
    this.wss.handleUpgrade(req, socket, head, (ws) => ws.close(code, reason))
  }

  /** Close every connection with `code`. */
  closeAll (code: number, reason: string): void {
    for (const conn of [...this.connections]) conn.close(code, reason)
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
