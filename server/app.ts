/**
 * Assembles one Quire instance: backend (store + bus), document registry,
 * sync endpoint and HTTP routes on one port (and /metrics on its own when
 * METRICS_PORT says so), plus the housekeeping tick and the graceful drain.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join, resolve } from 'node:path'
import { authEnabled, type Config } from './config.js'
import type { Logger } from './ops/log.js'
import { createMetrics, LIMIT, type Metrics } from './ops/metrics.js'
import { createAuthenticator, type Authenticator } from './auth/token.js'
import { createBackend } from './backend/create.js'
import type { Backend } from './backend/backend.js'
import { DocumentRegistry } from './document/registry.js'
import type { DocumentLimits } from './document/document.js'
import { SyncEndpoint, type ConnectionLifecycle } from './transport/endpoint.js'
import { clientAddressOf } from './transport/client-address.js'
import { enforceRequestDeadline, requestDeadlineOptions } from './transport/request-deadline.js'
import { CLOSE, CLOSE_REASONS } from '../common/close-codes.js'
import { TrackedTimer } from './ops/timers.js'
import { createStaticHandler } from './http/static.js'
import { createApiHandler } from './http/api.js'
import { createDocumentsHandler } from './http/documents.js'
import { ContentParser } from './content/parser.js'
import { createOriginPolicy, isLoopbackHost } from './http/origin.js'
import { createMetricsAccess } from './http/metrics-access.js'
import { BASE_HEADERS, NOTHING_ACTIVE, embedAncestors } from './http/headers.js'
import { LocalLive } from './backend/live.js'
import { EventHub } from './events/hub.js'
import { createLiveRoutes } from './events/routes.js'
import { setUpHistory } from './history/setup.js'
import { createWebhooks, type Hooks } from './webhooks/webhooks.js'

/** Housekeeping period: keep-alives, outdated awareness, the instance's send backlog. */
const TICK_MS = 2_500

/**
 * The shortest retry-after hint a client refused while draining gets:
 * during the grace it is told to come back once the grace is over (a load
 * balancer sends it elsewhere by then), later at least this.
 */
const DRAINING_RETRY_MS = 1_000

/**
 * The tick that checks keep-alives: at most a quarter of KEEPALIVE_MS, so the
 * longest silence a client sees is KEEPALIVE_MS plus one tick (12.5 s with
 * the defaults, under the 15 s docs/protocol.md promises).
 */
export function tickMs (keepAliveMs: number): number {
  return Math.min(TICK_MS, Math.ceil(keepAliveMs / 4))
}

export interface Quire {
  /** The instance's own HTTP server (`listen` starts it); a host app may use the two handlers below instead. */
  readonly server: Server
  /** Every HTTP request Quire answers (the health checks, the fallback transport, the API, the web client); 404 for the rest. */
  readonly handleRequest: (req: IncomingMessage, res: ServerResponse) => void
  /** A WebSocket upgrade to `/<document name>`. */
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
  /** Loaded documents, for features that follow them (the library's onChange). */
  readonly registry: DocumentRegistry
  readonly metrics: Metrics
  /** The separate /metrics listener (METRICS_PORT), if any. */
  readonly metricsServer: Server | null
  /** Where server-side features emit webhook events (docs/webhooks.md). */
  readonly hooks: Hooks
  /** Start the instance's own server (and the metrics one); PORT and HOST unless given. Resolves with the port. */
  listen (port?: number, host?: string): Promise<number>
  /**
   * Graceful drain (docs/deployment.md, "Rolling restarts"): /readyz turns
   * 503 and new clients are refused (4503), everything else is served for
   * DRAIN_GRACE_MS; then clients are closed with 1012 in batches over
   * DRAIN_SPREAD_MS, each batch's documents durable first; then everything
   * unloads and the store closes.
   */
  drain (): Promise<void>
}

function defaultClientDir (): string | null {
  // dist/server/app.js -> dist/client
  const here = dirname(fileURLToPath(import.meta.url))
  const dir = resolve(join(here, '..', 'client'))
  return existsSync(dir) ? dir : null
}

/** What a host app may put in place of the configuration's defaults (server/library/, docs/server-library.md). */
export interface InstanceParts {
  /** Instead of JWTs from the configuration (docs/auth.md). */
  auth?: Authenticator
  lifecycle?: ConnectionLifecycle
}

export async function createQuire (config: Config, log: Logger, backend?: Backend, parts: InstanceParts = {}): Promise<Quire> {
  const metrics = createMetrics()
  const auth = parts.auth ?? createAuthenticator(config, { log, registry: metrics.registry })
  if (auth.open) log.warn(openModeWarning(config.HOST))
  else if (config.API_KEY === undefined) log.info('API_KEY is not set: the HTTP API refuses every request')
  const origins = createOriginPolicy({ allowed: config.ALLOWED_ORIGINS, authOn: authEnabled(config), host: config.HOST })
  const chosen = backend ?? await createBackend(config, log, metrics.timersActive)
  const { store, bus } = chosen
  chosen.registerMetrics?.(metrics.registry)
  const limits: DocumentLimits = {
    maxClientIdsPerConnection: config.MAX_AWARENESS_CLIENT_IDS,
    maxStateBytes: config.MAX_AWARENESS_STATE_BYTES,
    maxStatesPerDocument: config.MAX_PRESENCE_PER_DOCUMENT,
    maxGatedPerPeer: config.MAX_GATED_REPLIES,
    maxUpdateDeleteRanges: config.MAX_UPDATE_DELETE_RANGES,
  }
  const registry = new DocumentRegistry({ store, bus, metrics, log, limits })
  const endpoint = new SyncEndpoint({
    auth,
    registry,
    metrics,
    log,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    maxConnections: config.MAX_CONNECTIONS,
    admission: {
      pendingUpgrades: config.MAX_PENDING_UPGRADES,
      perAddress: config.MAX_CONNECTIONS_PER_IP,
      perUser: config.MAX_CONNECTIONS_PER_USER,
    },
    connectionRate: {
      perSecond: config.MAX_NEW_CONNECTIONS_PER_SECOND,
      burst: config.MAX_NEW_CONNECTIONS_BURST,
      perAddressPerSecond: config.MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND,
      perAddressBurst: config.MAX_NEW_CONNECTIONS_PER_IP_BURST,
    },
    connection: { sendBacklogBytes: config.MAX_SEND_BACKLOG_BYTES, waitingBytes: config.MAX_WAITING_BYTES },
    maxInstanceBacklogBytes: config.MAX_INSTANCE_BACKLOG_BYTES,
    clientAddress: clientAddressOf(config.TRUST_PROXY),
    rateLimit: { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST },
    workBudget: { msPerSecond: config.WORK_BUDGET_MS_PER_SECOND, burstMs: config.WORK_BUDGET_BURST_MS },
    keepAliveMs: config.KEEPALIVE_MS,
    originRefusal: origins.refusal,
    cors: origins.cors,
    lifecycle: parts.lifecycle,
  })
  const serveStatic = createStaticHandler(
    config.CLIENT_DIR === undefined ? defaultClientDir() : config.CLIENT_DIR || null,
    embedAncestors(config.EMBED_ORIGINS ?? config.ALLOWED_ORIGINS),
  )
  // The live event stream and presence (docs/events.md).
  const live = chosen.live ?? new LocalLive()
  const hub = new EventHub({
    registry, live, log, bufferSize: config.EVENTS_BUFFER, retentionMs: config.EVENTS_RETENTION_MS,
    activityMs: config.EVENTS_ACTIVITY_MS, timers: metrics.timersActive, counted: metrics.events,
  })
  // Not awaited: with Redis unreachable the instance still listens, and the hub joins the others once it can.
  void hub.start()
  const liveRoutes = createLiveRoutes({
    hub, live, auth, apiKey: config.API_KEY, metrics, log, clientAddress: clientAddressOf(config.TRUST_PROXY),
    heartbeatMs: config.EVENTS_HEARTBEAT_MS, maxStreams: config.EVENTS_MAX_STREAMS, maxStreamsPerIp: config.EVENTS_MAX_STREAMS_PER_IP,
    maxStreamsPerUser: config.EVENTS_MAX_STREAMS_PER_USER, maxDocs: config.EVENTS_MAX_DOCS, maxBacklogBytes: config.EVENTS_MAX_BACKLOG_BYTES,
  })
  // Version history (docs/history.md); routes that overwrite a document call `history.snapshotBefore` first.
  const { history, handleVersions } = setUpHistory({ config, store, registry, auth, metrics, log })
  const webhooks = await createWebhooks({ config, log, metrics, registry, store })
  // Webhooks hear of new versions (docs/webhooks.md, "Events").
  history.onTaken((doc) => { void webhooks.hooks.emit({ type: 'version.created', doc }) })
  const handleApi = createApiHandler({ registry, apiKey: config.API_KEY, openMode: auth.open, maxBodyBytes: config.MAX_MESSAGE_BYTES, log })
  const parser = new ContentParser(config.CONTENT_PARSE_TIMEOUT_MS)
  const handleDocuments = createDocumentsHandler({
    registry,
    store,
    auth,
    apiKey: config.API_KEY,
    maxBodyBytes: config.MAX_MESSAGE_BYTES,
    listMax: config.API_LIST_MAX,
    parser,
    history,
    hooks: webhooks.hooks,
    metrics,
    log,
  })
  // A document deleted on another instance: its clients here are closed too.
  bus.onDeleted((name) => {
    registry.evict(name, CLOSE.gone, CLOSE_REASONS[CLOSE.gone]).catch((err: unknown) => log.warn({ err, doc: name }, 'unloading a deleted document failed'))
  })

  const gauges = (): void => {
    metrics.documentsLoaded.set(registry.size)
    // quire_documents_alive (SharedDocuments created minus destroyed) and
    // quire_timers_active (TrackedTimer) count themselves, so something that
    // leaked out of the registry or the endpoint still shows.
  }

  const metricsAccess = createMetricsAccess({ token: config.METRICS_TOKEN, separatePort: config.METRICS_PORT !== undefined })
  const serveMetrics = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const verdict = metricsAccess(req)
    if (verdict.status !== 200) {
      if (verdict.status === 401) res.setHeader('www-authenticate', 'Bearer')
      return text(res, verdict.status, verdict.body)
    }
    gauges()
    await webhooks.updateGauges()
    const body = await metrics.registry.metrics()
    res.writeHead(200, { 'content-type': metrics.registry.contentType })
    res.end(body)
  }

  const handleRequest = withHeaders(log, async (req, res, pathname) => {
    if (pathname === '/healthz') return text(res, 200, 'ok\n')
    if (pathname === '/readyz') {
      const ready = draining ? false : await store.isReady().catch(() => false)
      return text(res, ready ? 200 : 503, ready ? 'ready\n' : 'not ready\n')
    }
    if (pathname === '/metrics' && config.METRICS_PORT === undefined) return serveMetrics(req, res)
    // The fallback transport (/sync/…) for clients whose network refuses WebSocket upgrades.
    if (endpoint.handleRequest(req, res, pathname)) return
    if (pathname.startsWith('/api/')) {
      // Checked here, before the API itself: which pages may call it is not the API's business.
      const refused = origins.refusal(req)
      if (refused !== null) return json(res, 403, { error: refused.detail })
      if (origins.cors(req, res)) return
    }
    if (pathname.startsWith('/api/') && await liveRoutes.handle(req, res, pathname)) return
    if (await webhooks.handleAdmin(req, res, pathname)) return
    if (await handleVersions(req, res, pathname)) return
    if (await handleDocuments(req, res, pathname)) return
    if (await handleApi(req, res, pathname)) return
    if (serveStatic(req, res, pathname)) return
    text(res, 404, 'not found\n')
  })
  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => endpoint.handleUpgrade(req, socket, head)
  const server = createServer(requestDeadlineOptions(config.HEADERS_TIMEOUT_MS), handleRequest)
  enforceRequestDeadline(server, config.HEADERS_TIMEOUT_MS, () => metrics.refusals.inc({ limit: LIMIT.requestHeaders }))
  server.on('upgrade', handleUpgrade)
  const metricsServer = config.METRICS_PORT === undefined
    ? null
    : createServer(withHeaders(log, async (req, res, pathname) => {
      if (pathname === '/metrics') return serveMetrics(req, res)
      text(res, 404, 'not found\n')
    }))

  const tick = setInterval(() => {
    const now = Date.now()
    for (const doc of registry.documents()) doc.sweep(now)
    for (const conn of endpoint.connections) conn.keepAlive(now)
    metrics.sendBacklog.set(endpoint.sweepBacklog())
    endpoint.sweepRates()
  }, tickMs(config.KEEPALIVE_MS))
  tick.unref()

  let draining = false
  let drained: Promise<void> | null = null
  const pause = (ms: number): Promise<void> => ms <= 0
    ? Promise.resolve()
    : new Promise((resolve) => { new TrackedTimer(metrics.timersActive, resolve, ms) })

  return {
    server,
    handleRequest,
    handleUpgrade,
    registry,
    metrics,
    metricsServer,
    hooks: webhooks.hooks,
    listen: async (port = config.PORT, host = config.HOST) => {
      const listening = await listenOn(server, port, host)
      if (metricsServer && config.METRICS_PORT !== undefined) {
        const metricsPort = await listenOn(metricsServer, config.METRICS_PORT, config.METRICS_HOST)
        log.info({ port: metricsPort, host: config.METRICS_HOST }, 'metrics listening')
      }
      return listening
    },
    drain: () => drained ??= (async () => {
      draining = true
      metrics.draining.set(1)
      const graceEnds = Date.now() + config.DRAIN_GRACE_MS
      endpoint.stopAccepting(() => Math.max(DRAINING_RETRY_MS, graceEnds - Date.now()))
      // The grace: /readyz says 503 while everyone connected is served as
      // before, until the load balancer has stopped sending new clients.
      await pause(config.DRAIN_GRACE_MS)
      liveRoutes.closeAll()
      await endpoint.closeSpread(CLOSE.restarting, CLOSE_REASONS[CLOSE.restarting], config.DRAIN_SPREAD_MS, pause)
      server.close()
      metricsServer?.close()
      // Changes waiting for their debounce and the users who just left are queued before anything unloads.
      await webhooks.settle()
      await registry.closeAll()
      await webhooks.close()
      clearInterval(tick)
      await endpoint.close()
      await hub.close()
      await parser.close()
      await bus.close()
      await store.close()
      server.closeAllConnections()
      metricsServer?.closeAllConnections()
    })(),
  }
}

/** The start-up warning of open mode: what it means, and how to expose it (or not) on purpose. */
export function openModeWarning (host: string): string {
  const risk = 'neither AUTH_SECRET nor AUTH_JWKS_URL is set: open mode, anyone who reaches this server can read and write every document'
  return isLoopbackHost(host)
    ? `${risk}. Listening on ${host} only; to expose it anyway set HOST=0.0.0.0 explicitly (better: set AUTH_SECRET or AUTH_JWKS_URL)`
    : `${risk}, and HOST=${host} lets other machines reach it; set AUTH_SECRET or AUTH_JWKS_URL to require tokens`
}

type Route = (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void>

/** A request listener that adds the security headers every answer carries and turns a failure into a 500. */
function withHeaders (log: Logger, route: Route) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    for (const [name, value] of Object.entries(BASE_HEADERS)) res.setHeader(name, value)
    let pathname: string
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname
    } catch {
      // "//" and the like: a request target URL cannot read. Thrown here it would end the process.
      return text(res, 400, 'bad request target\n')
    }
    route(req, res, pathname).catch((err) => {
      log.error({ err, path: pathname }, 'request failed')
      if (!res.headersSent) text(res, 500, 'internal error\n')
      else res.destroy()
    })
  }
}

function listenOn (server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const address = server.address()
      resolve(typeof address === 'object' && address ? address.port : port)
    })
  })
}

function text (res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-security-policy': NOTHING_ACTIVE })
  res.end(body)
}

function json (res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-security-policy': NOTHING_ACTIVE })
  res.end(JSON.stringify(body) + '\n')
}
