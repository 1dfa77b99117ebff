/**
 * Assembles one Quire instance: backend (store + bus), document registry,
 * sync endpoint and HTTP routes on one port, plus the housekeeping tick and
 * the graceful drain.
 */
import { createServer, type Server } from 'node:http'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join, resolve } from 'node:path'
import type { Config } from './config.js'
import type { Logger } from './ops/log.js'
import { createMetrics, LIMIT } from './ops/metrics.js'
import { createAuthenticator } from './auth/token.js'
import { createBackend } from './backend/create.js'
import type { Backend } from './backend/backend.js'
import { DocumentRegistry } from './document/registry.js'
import { SyncEndpoint } from './transport/upgrade.js'
import { clientAddressOf } from './transport/client-address.js'
import { enforceRequestDeadline, requestDeadlineOptions } from './transport/request-deadline.js'
import { CLOSE } from '../common/close-codes.js'
import { createStaticHandler } from './http/static.js'
import { createApiHandler } from './http/api.js'

/** Housekeeping period: keep-alives, outdated awareness, the instance's send backlog. */
const TICK_MS = 2_500

/**
 * The tick that checks keep-alives: at most a quarter of KEEPALIVE_MS, so the
 * longest silence a client sees is KEEPALIVE_MS plus one tick (12.5 s with
 * the defaults, under the 15 s the contract promises).
 */
export function tickMs (keepAliveMs: number): number {
  return Math.min(TICK_MS, Math.ceil(keepAliveMs / 4))
}

export interface Quire {
  readonly server: Server
  listen (): Promise<number>
  /** Graceful drain: refuse new clients, persist everything, close clients with 1012. */
  drain (): Promise<void>
}

function defaultClientDir (): string | null {
  // dist/server/app.js -> dist/client
  const here = dirname(fileURLToPath(import.meta.url))
  const dir = resolve(join(here, '..', 'client'))
  return existsSync(dir) ? dir : null
}

export async function createQuire (config: Config, log: Logger, backend?: Backend): Promise<Quire> {
  const metrics = createMetrics()
  const auth = createAuthenticator(config.AUTH_SECRET)
  if (auth.open) log.warn('AUTH_SECRET is not set: open mode, anyone can read and write every document')
  const chosen = backend ?? await createBackend(config, log)
  const { store, bus } = chosen
  chosen.registerMetrics?.(metrics.registry)
  const registry = new DocumentRegistry({ store, bus, metrics, log })
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
    connection: { sendBacklogBytes: config.MAX_SEND_BACKLOG_BYTES, waitingBytes: config.MAX_WAITING_BYTES },
    maxInstanceBacklogBytes: config.MAX_INSTANCE_BACKLOG_BYTES,
    clientAddress: clientAddressOf(config.TRUST_PROXY),
    rateLimit: { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST },
    keepAliveMs: config.KEEPALIVE_MS,
  })
  const serveStatic = createStaticHandler(config.CLIENT_DIR === undefined ? defaultClientDir() : config.CLIENT_DIR || null)
  const handleApi = createApiHandler({ registry, apiKey: config.API_KEY, openMode: auth.open, maxBodyBytes: config.MAX_MESSAGE_BYTES, log })

  const gauges = (): void => {
    metrics.documentsLoaded.set(registry.size)
    // quire_awareness_instances (SharedDocuments created minus destroyed) and
    // quire_timers_active (TrackedTimer) count themselves, so something that
    // leaked out of the registry or the endpoint still shows.
  }

  const server = createServer(requestDeadlineOptions(config.HEADERS_TIMEOUT_MS), (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname
    const route = async (): Promise<void> => {
      if (pathname === '/healthz') return void text(res, 200, 'ok\n')
      if (pathname === '/readyz') {
        const ready = draining ? false : await store.isReady().catch(() => false)
        return void text(res, ready ? 200 : 503, ready ? 'ready\n' : 'not ready\n')
      }
      if (pathname === '/metrics') {
        gauges()
        const body = await metrics.registry.metrics()
        res.writeHead(200, { 'content-type': metrics.registry.contentType })
        return void res.end(body)
      }
      if (await handleApi(req, res, pathname)) return
      if (serveStatic(req, res, pathname)) return
      text(res, 404, 'not found\n')
    }
    route().catch((err) => {
      log.error({ err, path: pathname }, 'request failed')
      if (!res.headersSent) text(res, 500, 'internal error\n')
      else res.destroy()
    })
  })
  enforceRequestDeadline(server, config.HEADERS_TIMEOUT_MS, () => metrics.refusals.inc({ limit: LIMIT.requestHeaders }))
  server.on('upgrade', (req, socket, head) => endpoint.handleUpgrade(req, socket, head))

  const tick = setInterval(() => {
    const now = Date.now()
    for (const doc of registry.documents()) doc.sweep(now)
    for (const conn of endpoint.connections) conn.keepAlive(now)
    metrics.sendBacklog.set(endpoint.sweepBacklog())
  }, tickMs(config.KEEPALIVE_MS))
  tick.unref()

  let draining = false
  let drained: Promise<void> | null = null

  return {
    server,
    listen: () => new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.PORT, config.HOST, () => {
        const address = server.address()
        resolve(typeof address === 'object' && address ? address.port : config.PORT)
      })
    }),
    drain: () => drained ??= (async () => {
      draining = true
      endpoint.stopAccepting()
      server.close()
      // Everything received so far becomes durable before anyone is told to go.
      await registry.flushAll()
      endpoint.closeAll(CLOSE.restarting, 'server restarting')
      await registry.closeAll()
      clearInterval(tick)
      await endpoint.close()
      await bus.close()
      await store.close()
      server.closeAllConnections()
    })(),
  }
}

function text (res: import('node:http').ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
  res.end(body)
}
