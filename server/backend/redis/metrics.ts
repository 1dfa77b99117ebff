/**
 * The Redis backend's metrics: whether Redis answers, and how much arrives
 * over pub/sub and has to be read back from the logs (gaps, reconnects).
 * Counted as plain numbers on the hot path, read by prom-client at scrape.
 */
import { Counter, Gauge, type Registry } from 'prom-client'

export interface RedisStats {
  /** Messages received over (sharded) pub/sub. */
  pubsubMessages: number
  /** Reads of a document's log to fill a gap or catch up after a reconnect. */
  catchUpReads: number
}

export function registerRedisMetrics (registry: Registry, stats: RedisStats, up: () => boolean): void {
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({ name, help, registers: [registry], collect () { this.reset(); this.inc(read()) } })
  }
  new Gauge({ name: 'quire_redis_up', help: '1 while commands and pub/sub to Redis both work, else 0', registers: [registry], collect () { this.set(up() ? 1 : 0) } })
  counter('quire_redis_pubsub_messages_total', 'Messages received from other instances over pub/sub', () => stats.pubsubMessages)
  counter('quire_redis_catchup_reads_total', 'Reads of a document log to fill a gap or catch up after a reconnect', () => stats.catchUpReads)
}
