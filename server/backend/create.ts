/**
 * Picks the backend from the configuration: Redis when REDIS_URL or
 * REDIS_CLUSTER_NODES is set, else the embedded store with a local bus.
 * The Redis modules load only when used.
 */
import type { Gauge } from 'prom-client'
import type { Config } from '../config.js'
import type { Logger } from '../ops/log.js'
import type { Backend } from './backend.js'
import { LocalBus } from './bus.js'
import { LevelStore } from './embedded/level-store.js'

/** `timers` is the instance's quire_timers_active gauge (the Redis backend's retries count there). */
export async function createBackend (config: Config, log: Logger, timers?: Gauge): Promise<Backend> {
  if (config.REDIS_URL || config.REDIS_CLUSTER_NODES) {
    const { createRedisBackend } = await import('./redis/backend.js')
    return createRedisBackend(config, log, timers)
  }
  const store = await LevelStore.open(config.DATA_DIR, { fsync: config.DATA_FSYNC, commitIntervalMs: config.DATA_COMMIT_INTERVAL_MS })
  log.info({ dir: config.DATA_DIR }, 'embedded store opened')
  return { store, bus: new LocalBus() }
}
