/**
 * `createQuireServer(options)`: one Quire instance as a library
 * (docs/server-library.md). It builds what `npm start` runs (server/app.ts)
 * from settings over the environment, with the host app's hooks and store,
 * and can listen on its own port, be attached to the host's `http.Server`
 * under a path prefix, or answer from the host's own routes.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { createQuire } from '../app.js'
import type { Config } from '../config.js'
import { createLogger, type Logger } from '../ops/log.js'
import type { DocStore } from '../backend/store.js'
import { LocalBus } from '../backend/bus.js'
import { configFrom, type QuireSettings } from './settings.js'
import { hookAuthenticator, type AuthenticateHook } from './authenticate.js'
import { connectionLifecycle, type ConnectionHook } from './connections.js'
import { followChanges, type ChangeHook } from './changes.js'
import { attachUnder, normalizePrefix } from './prefix.js'

/** onChange's debounce unless told otherwise: as the document.changed webhook's (docs/webhooks.md). */
export const ON_CHANGE_DEBOUNCE_MS = 2_000
export const ON_CHANGE_MAX_WAIT_MS = 10_000

export interface QuireHooks {
  /** Decides each connection (and API request) instead of JWTs; see AuthenticateHook. */
  authenticate?: AuthenticateHook
  onConnect?: ConnectionHook
  onDisconnect?: ConnectionHook
  onChange?: ChangeHook
  /** onChange waits for this long without a change... */
  onChangeDebounceMs?: number
  /** ...but never longer than this after the first change it reports. */
  onChangeMaxWaitMs?: number
}

export interface QuireServerOptions extends QuireSettings, QuireHooks {
  /** Where settings not given here are read from; `{}` to read none. Default: `process.env`. */
  env?: NodeJS.ProcessEnv
  /** Where documents are kept, instead of the embedded store or Redis (one instance: nothing links it to others). */
  store?: DocStore
  /** A pino logger; default: JSON lines on stdout at `logLevel`. */
  logger?: Logger
}

export interface AttachOptions {
  /** The path Quire answers under (`/collab`: documents at `/collab/<name>`, the embed at `/collab/embed.js`); default: the whole server. */
  prefix?: string
}

export interface QuireServer {
  /** The configuration in effect (settings over the environment, then defaults). */
  readonly config: Config
  readonly logger: Logger
  /** Quire's own `http.Server` (what `listen` starts). */
  readonly server: Server
  /** Answer an HTTP request whose url is relative to where Quire is mounted (an Express `app.use('/collab', …)` strips the prefix). */
  handleRequest (req: IncomingMessage, res: ServerResponse): void
  /** Take a WebSocket upgrade whose url is `/<document name>` (prefix taken off). */
  handleUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void
  /** Serve under `prefix` on the host's server; the rest stays the host's. Returns what detaches it. */
  attach (server: Server, options?: AttachOptions): () => void
  /** Listen on Quire's own server; `port` and `host` default to PORT and HOST. Resolves with the port. */
  listen (port?: number, host?: string): Promise<number>
  /**
   * Drain as `npm start` does on SIGTERM (docs/deployment.md, "Rolling
   * restarts"): new clients refused, clients closed with 1012 once
   * everything they sent is durable, onChange called for what is pending,
   * documents unloaded, the store closed. Detaches from host servers.
   */
  close (): Promise<void>
}

const HOOK_KEYS = ['authenticate', 'onConnect', 'onDisconnect', 'onChange', 'onChangeDebounceMs', 'onChangeMaxWaitMs', 'env', 'store', 'logger'] as const

export async function createQuireServer (options: QuireServerOptions = {}): Promise<QuireServer> {
  const settings: Record<string, unknown> = { ...options }
  for (const key of HOOK_KEYS) delete settings[key]
  const config = configFrom(settings, options.env ?? process.env, options.authenticate !== undefined)
  const log = options.logger ?? createLogger(config.LOG_LEVEL)
  const backend = options.store === undefined ? undefined : { store: options.store, bus: new LocalBus() }
  const quire = await createQuire(config, log, backend, {
    auth: options.authenticate === undefined ? undefined : hookAuthenticator(options.authenticate, log, config.AUTHENTICATE_TIMEOUT_MS),
    lifecycle: connectionLifecycle(options, log),
  })
  if (options.onChange !== undefined) {
    followChanges(quire.registry, {
      onChange: options.onChange,
      debounceMs: options.onChangeDebounceMs ?? ON_CHANGE_DEBOUNCE_MS,
      maxWaitMs: Math.max(options.onChangeMaxWaitMs ?? ON_CHANGE_MAX_WAIT_MS, options.onChangeDebounceMs ?? 0),
    }, quire.metrics.timersActive, log)
  }
  const detachers = new Set<() => void>()
  return {
    config,
    logger: log,
    server: quire.server,
    handleRequest: quire.handleRequest,
    handleUpgrade: quire.handleUpgrade,
    attach (server, attachOptions = {}) {
      const detach = attachUnder(server, quire, normalizePrefix(attachOptions.prefix))
      const once = (): void => {
        if (detachers.delete(once)) detach()
      }
      detachers.add(once)
      return once
    },
    listen: (port, host) => quire.listen(port, host),
    async close () {
      await quire.drain()
      for (const detach of [...detachers]) detach()
    },
  }
}
