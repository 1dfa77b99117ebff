/**
 * Picks the store and bus from the configuration: Redis when REDIS_URL or
 * REDIS_CLUSTER_NODES is set, else the embedded store with a local bus.
 */
import type { Registry } from 'prom-client'
import type { Config } from './config.js'
import type { Bus } from './bus/bus.js'
import { LocalBus } from './bus/bus.js'
import type { DocStore } from './store/store.js'
import { LevelStore } from './store/level-store.js'
import type { Logger } from './ops/log.js'

export interface Backend {
  store: DocStore
  bus: Bus
  /** Add the backend's own metrics to the instance's registry (GET /metrics). */
  registerMetrics?: (registry: Registry) => void
}

export async function createBackend (config: Config, log: Logger): Promise<Backend> {
  if (config.REDIS_URL || config.REDIS_CLUSTER_NODES) {
    const { createRedisBackend } = await import('./redis/backend.js')
    return createRedisBackend(config, log)
  }
  const store = await LevelStore.open(config.DATA_DIR, { fsync: config.DATA_FSYNC })
  log.info({ dir: config.DATA_DIR }, 'embedded store opened')
  return { store, bus: new LocalBus() }
}
