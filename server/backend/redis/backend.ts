/**
 * Wires the Redis backend (REDIS_URL or REDIS_CLUSTER_NODES): one connection
 * for commands and scripts, pub/sub connections, the store and the bus (with
 * its heartbeat). Returns at once even when Redis is unreachable: the instance
 * listens (/healthz 200, /readyz 503), the connections retry with backoff,
 * and documents load once Redis answers.
 */
import { Gauge, type Registry } from 'prom-client'
import { registerRedisMetrics, type RedisStats } from './metrics.js'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Cluster, Redis } from 'ioredis'
import type { Config } from '../../config.js'
import type { Logger } from '../../ops/log.js'
import type { Backend } from '../backend.js'
import { connectData, connectSubscriber, whenReady, type RedisTarget } from './connect.js'
import { defineScripts, type QuireCommands } from './scripts.js'
import { AppendBatch } from './append-batch.js'
import { AppliedPositions } from './positions.js'
import { RedisStore } from './redis-store.js'
import { RedisBus } from './redis-bus.js'
import { LIVE_CHANNEL, RedisLive } from './live.js'
import { ClusterSubscriber, ConnectionSubscriber, type SubscriberEvents } from './subscriber.js'

export interface RedisBackend extends Backend {
  store: RedisStore
  bus: RedisBus
  live: RedisLive
  instanceId: string
  /** Resolves once commands and pub/sub both work (tests; the server never waits). */
  whenReady (timeoutMs?: number): Promise<void>
}

/** Unique per process; no spaces (it goes in message headers). */
export function newInstanceId (): string {
  return `${hostname().replace(/[^\w.-]/g, '_').slice(0, 40)}-${process.pid}-${randomBytes(4).toString('hex')}`
}

export function redisTarget (config: Config): RedisTarget {
  if (config.REDIS_CLUSTER_NODES) {
    return { kind: 'cluster', nodes: config.REDIS_CLUSTER_NODES, username: config.REDIS_USERNAME, password: config.REDIS_PASSWORD }
  }
  if (config.REDIS_URL) return { kind: 'standalone', url: config.REDIS_URL }
  throw new Error('neither REDIS_URL nor REDIS_CLUSTER_NODES is set')
}

/**
 * `timers` is the instance's quire_timers_active gauge; without one (a
 * backend used on its own, as in tests), its timers count in a gauge of
 * their own.
 */
export async function createRedisBackend (config: Config, log: Logger, timers?: Gauge): Promise<RedisBackend> {
  const target = redisTarget(config)
  const instanceId = newInstanceId()
  const rlog = log.child({ instance: instanceId })
  const client = defineScripts(connectData(target, rlog))
  const publishCommand = target.kind === 'cluster' ? 'spublish' : 'publish'
  const positions = new AppliedPositions()

  let bus: RedisBus | null = null
  let live: RedisLive | null = null
  const stats: RedisStats = { pubsubMessages: 0, catchUpReads: 0 }
  const events: SubscriberEvents = {
    message: (channel, message) => {
      stats.pubsubMessages++
      if (channel === LIVE_CHANNEL) live?.handleMessage(message)
      else bus?.handleMessage(channel, message)
    },
    restored: (channels) => {
      if (channels.includes(LIVE_CHANNEL)) live?.handleRestored()
      bus?.handleRestored(channels)
    },
  }
  const subscriber = target.kind === 'cluster'
    ? new ClusterSubscriber(client as Cluster, events, rlog)
    : new ConnectionSubscriber(connectSubscriber(target, rlog), false, events, rlog)
  const ready = async (timeoutMs = 10_000): Promise<void> => {
    await whenReady(client, timeoutMs)
    if (subscriber instanceof ConnectionSubscriber) await whenReady(subscriber.connection, timeoutMs)
  }

  // Group commit (DATA_COMMIT_INTERVAL_MS) on a standalone server; a cluster's appends go one by one (append-batch.ts).
  const appendBatch = target.kind === 'standalone' && config.DATA_COMMIT_INTERVAL_MS > 0
    ? new AppendBatch({ client: client as Redis & QuireCommands, intervalMs: config.DATA_COMMIT_INTERVAL_MS, publishCommand: 'publish', instanceId })
    : undefined
  const store = new RedisStore({ client, instanceId, publishCommand, positions, busReady: () => subscriber.ready, log: rlog, appendBatch })
  const readLog = (name: string, from: number): ReturnType<RedisStore['read']> => {
    stats.catchUpReads++
    return store.read(name, from)
  }
  const timerGauge = timers ?? new Gauge({ name: 'quire_timers_active', help: 'Redis backend timers pending', registers: [] })
  bus = new RedisBus({
    client, instanceId, publishCommand, positions, readLog, subscriber, log: rlog, timers: timerGauge,
    onDeadInstances: (instances) => live?.handleDeadInstances(instances),
  })
  const busRef = bus
  live = new RedisLive({ client, instanceId, publishCommand, subscriber, deadInstances: () => busRef.deadInstances, log: rlog })
  rlog.info({ redis: target.kind === 'cluster' ? target.nodes.map((n) => `${n.host}:${n.port}`) : redactUrl(target.url) }, 'redis backend configured')
  const registerMetrics = (registry: Registry): void => registerRedisMetrics(registry, stats, () => client.status === 'ready' && subscriber.ready)
  return { store, bus, live, instanceId, whenReady: ready, registerMetrics }
}

function redactUrl (url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@')
}
