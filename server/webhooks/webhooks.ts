/**
 * The webhooks of one instance (docs/webhooks.md), put together: endpoints
 * (WEBHOOKS and the admin API), the emitter that queues events for them, the
 * worker that delivers, and the watch on every loaded document that emits
 * document.changed and user.joined / user.left. Other server-side features
 * emit their events through `hooks.emit`.
 *
 * Off (NO_HOOKS, nothing started) unless WEBHOOKS or API_KEY is set: without
 * either, no endpoint can ever exist.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Config } from '../config.js'
import type { Logger } from '../ops/log.js'
import type { Metrics } from '../ops/metrics.js'
import type { DocStore } from '../backend/store.js'
import type { DocumentRegistry } from '../document/registry.js'
import { Endpoints, fromEnvironment } from './endpoints.js'
import { NO_HOOKS, type Hooks, type WebhookUser } from './events.js'
import { Emitter } from './emitter.js'
import { Worker } from './worker.js'
import { ChangeReporter } from './changes.js'
import { PresenceWatch } from './presence.js'
import { watchDocument } from './watch.js'
import { createParts } from './parts.js'
import { createAdminApi } from './admin-api.js'

export type { Hooks, HookEvent, WebhookUser } from './events.js'

export interface Webhooks {
  /** Where other server-side features emit their events (document.created, version.created...). */
  readonly hooks: Hooks
  /** The admin API (/api/admin/webhooks); false when `pathname` is not its own. */
  handleAdmin (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean>
  /** Bring quire_webhook_queued up to date (before /metrics is read). */
  updateGauges (): Promise<void>
  /** Draining, once connections are closed: report pending changes now and queue every event being emitted. */
  settle (): Promise<void>
  /** Stop delivering (what is not delivered stays queued); before the store closes. */
  close (): Promise<void>
}

export interface WebhookDeps {
  config: Config
  log: Logger
  metrics: Metrics
  registry: DocumentRegistry
  store: DocStore
}

export async function createWebhooks ({ config, log, metrics, registry, store }: WebhookDeps): Promise<Webhooks> {
  if (config.WEBHOOKS === undefined && config.API_KEY === undefined) {
    const handleAdmin = createAdminApi({ log, apiKey: undefined, endpoints: null, allowPrivate: false })
    return { hooks: NO_HOOKS, handleAdmin, updateGauges: async () => {}, settle: async () => {}, close: async () => {} }
  }
  const parts = await createParts(config, store, log)
  const endpoints = new Endpoints(fromEnvironment(config.WEBHOOKS ?? []), parts.endpointStore, log)
  const emitter = new Emitter({ endpoints, queue: parts.queue, registry, metrics, log, maxContentBytes: config.WEBHOOK_MAX_CONTENT_BYTES })
  const worker = new Worker({
    queue: parts.queue,
    endpoints,
    metrics,
    timers: metrics.timersActive,
    log,
    options: {
      retryForMs: config.WEBHOOK_RETRY_FOR_MS,
      retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      allowPrivate: config.WEBHOOKS_ALLOW_PRIVATE,
    },
  })
  const userEvent = (type: 'user.joined' | 'user.left') => (doc: string, user: WebhookUser): void => { void emitter.emit({ type, doc, users: [user] }) }
  const joined = userEvent('user.joined')
  const left = userEvent('user.left')
  const changes = new ChangeReporter({
    debounceMs: config.WEBHOOK_DEBOUNCE_MS,
    maxWaitMs: config.WEBHOOK_MAX_WAIT_MS,
    timers: metrics.timersActive,
    report: (doc, users, at) => { void emitter.emit({ type: 'document.changed', doc, users, at }) },
  })
  const presence = new PresenceWatch({ ledger: parts.ledger, log, joined, left })
  const unwatch = registry.watch({ loaded: (doc) => { watchDocument(doc, { changes, presence, wantsChanges: () => endpoints.wants('document.changed') }) } })

  endpoints.start()
  await parts.queue.start(worker)
  parts.start({ worker, presence, joined, left })
  log.info({ endpoints: endpoints.all().length, queue: parts.queue.constructor.name }, 'webhooks on')

  let closed: Promise<void> | null = null
  return {
    hooks: emitter,
    handleAdmin: createAdminApi({ log, apiKey: config.API_KEY, endpoints, allowPrivate: config.WEBHOOKS_ALLOW_PRIVATE }),
    updateGauges: async () => {
      try {
        metrics.webhookQueued.set(await parts.queue.size())
      } catch {
        // Redis unreachable: the gauge keeps its last value.
      }
    },
    settle: async () => {
      changes.flush()
      await presence.settle()
      await emitter.settle()
    },
    close: () => closed ??= (async () => {
      unwatch()
      endpoints.stop()
      worker.close()
      await parts.queue.close()
      await parts.close()
    })(),
  }
}
