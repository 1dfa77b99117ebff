/**
 * The backend: where documents are kept (the store) and how instances hear
 * of each other's changes (the bus). They are one unit because in the Redis
 * backend they share one path: `store.append` stores the updates and
 * publishes them to the other instances in one round trip, and the bus
 * tells the store how far each document has applied the log (which bounds
 * what compaction may fold). See docs/architecture.md, "The backend".
 *
 *   embedded/   LevelDB store + a bus that carries nothing (one instance)
 *   redis/      Redis store + Redis pub/sub bus (any number of instances)
 *   memory-store.ts  in memory, for tests
 */
import type { Registry } from 'prom-client'
import type { DocStore } from './store.js'
import type { Bus } from './bus.js'

export type { DocStore, Bus }

export interface Backend {
  store: DocStore
  bus: Bus
  /** Add the backend's own metrics to the instance's registry (GET /metrics). */
  registerMetrics?: (registry: Registry) => void
}
