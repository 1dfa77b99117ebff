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
 *   live.ts     the presence registry of the event stream (in memory; redis/live.ts)
 *   memory-store.ts  in memory, for tests
 */
import type { Registry } from 'prom-client'
import type { DocStore } from './store.js'
import type { Bus } from './bus.js'
import type { Live } from './live.js'

export type { DocStore, Bus, Live }

export interface Backend {
  store: DocStore
  bus: Bus
  /** The presence registry and the instances' news for the live event stream (live.ts); in memory when absent. */
  live?: Live
  /** Add the backend's own metrics to the instance's registry (GET /metrics). */
  registerMetrics?: (registry: Registry) => void
}
