/**
 * Where the webhooks keep their state, by backend: the queue, the presence
 * ledger and the admin-added endpoints. One instance (embedded store, or a
 * store only tests use) keeps them in-process (the embedded store's key
 * space persists the queue and the endpoints); Redis shares them between
 * instances (redis/parts.ts).
 */
import type { Config } from '../config.js'
import type { Logger } from '../ops/log.js'
import type { DocStore } from '../backend/store.js'
import { LevelStore } from '../backend/embedded/level-store.js'
import { KeySpaceEndpointStore, MemoryEndpointStore, type EndpointStore } from './endpoints.js'
import { LocalLedger, type PresenceLedger, type PresenceWatch } from './presence.js'
import { LocalQueue, type DeliveryQueue } from './queue.js'
import type { Worker } from './worker.js'
import type { WebhookUser } from './events.js'

/** What background work needs of the rest (Redis: taking over a silent instance). */
export interface PartsContext {
  worker: Worker
  presence: PresenceWatch
  joined (doc: string, user: WebhookUser): void
  left (doc: string, user: WebhookUser): void
}

export interface WebhookParts {
  queue: DeliveryQueue
  ledger: PresenceLedger
  endpointStore: EndpointStore
  /** Start background work (Redis: liveness). */
  start (ctx: PartsContext): void
  close (): Promise<void>
}

export async function createParts (config: Config, store: DocStore, log: Logger): Promise<WebhookParts> {
  if (config.REDIS_URL || config.REDIS_CLUSTER_NODES) {
    const { createRedisParts } = await import('./redis/parts.js')
    return createRedisParts(config, log)
  }
  const persistent = store instanceof LevelStore
  return {
    queue: new LocalQueue(persistent ? store.keyspace('webhooks-queue') : null, config.WEBHOOK_MAX_QUEUED, log),
    ledger: new LocalLedger(),
    endpointStore: persistent ? new KeySpaceEndpointStore(store.keyspace('webhooks-endpoints')) : new MemoryEndpointStore(),
    start: () => {},
    close: async () => {},
  }
}
