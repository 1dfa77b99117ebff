/**
 * Connections to Redis, tuned so that an outage is noticed quickly instead of
 * hanging: commands fail at once while a connection is down (no offline
 * queue), commands in flight fail when it drops, and a reply that never comes
 * fails after COMMAND_TIMEOUT_MS. The document layer then relays live and
 * retries (its degraded mode). Reconnection goes on forever with capped
 * backoff, and the log says so.
 */
import { Redis, Cluster, type RedisOptions } from 'ioredis'
import type { Logger } from '../../ops/log.js'
import { backoffDelay, type BackoffOptions } from '../../../common/backoff.js'
import type { RedisClient } from './scripts.js'

export const COMMAND_TIMEOUT_MS = 5_000
const CONNECT_TIMEOUT_MS = 3_000
/** Reconnecting: 100 ms doubling to 2 s, each delay spread ±25 % so instances do not reconnect in lockstep. */
const RECONNECT: BackoffOptions = { baseMs: 100, maxMs: 2_000, jitter: 'spread' }

export type RedisTarget =
  | { kind: 'standalone', url: string }
  | { kind: 'cluster', nodes: Array<{ host: string, port: number }>, username?: string, password?: string }

/** Where one pub/sub connection goes: the standalone server, or one cluster node (with the cluster's credentials). */
export type SubscriberTarget = { url: string } | { host: string, port: number, username?: string, password?: string }

/** Capped exponential backoff with jitter, announced in the log. ioredis counts attempts from 1. */
function retryStrategy (log: Logger, what: string) {
  return (attempt: number): number => {
    const delay = backoffDelay(attempt - 1, RECONNECT)
    // Say so at once, then now and then while it lasts.
    if (attempt === 1 || attempt % 10 === 0) log.warn({ redis: what, attempt, retryInMs: delay }, 'redis unreachable; retrying')
    return delay
  }
}

/** Options of every connection; `what` names it in logs and CLIENT LIST. */
function connectionOptions (what: string): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    connectionName: `quire-${what}`,
  }
}

/** Log the first error of an outage, and the recovery. */
function watch (client: Redis | Cluster, log: Logger, what: string): void {
  let down = false
  client.on('error', (err: Error) => {
    if (!down) log.warn({ redis: what, err: err.message }, 'redis connection error')
    down = true
  })
  client.on('ready', () => {
    if (down) log.info({ redis: what }, 'redis reachable again')
    down = false
  })
}

/** The client for commands and scripts (a Cluster client in cluster mode). */
export function connectData (target: RedisTarget, log: Logger): RedisClient {
  const client: RedisClient = target.kind === 'standalone'
    ? new Redis(target.url, { ...connectionOptions('data'), retryStrategy: retryStrategy(log, 'data') })
    : new Cluster(target.nodes, {
      enableOfflineQueue: false,
      clusterRetryStrategy: retryStrategy(log, 'cluster'),
      slotsRefreshInterval: 5_000,
      redisOptions: { ...connectionOptions('data'), username: target.username, password: target.password },
    })
  watch(client, log, 'data')
  return client
}

/**
 * A connection for pub/sub: to the standalone server, or to one cluster
 * node (sharded pub/sub is per shard). Subscriptions are restored by our
 * own code after a reconnect, so it knows when to catch up.
 */
export function connectSubscriber (target: SubscriberTarget, log: Logger): Redis {
  const what = 'url' in target ? 'pubsub' : `pubsub-${target.host}:${target.port}`
  const options: RedisOptions = { ...connectionOptions(what), retryStrategy: retryStrategy(log, what), autoResubscribe: false }
  const client = 'url' in target
    ? new Redis(target.url, options)
    : new Redis({ ...options, host: target.host, port: target.port, username: target.username, password: target.password })
  watch(client, log, what)
  return client
}

/** Resolve once the client is ready, or reject after `timeoutMs`. */
export function whenReady (client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady)
      reject(new Error(`redis not reachable within ${timeoutMs} ms`))
    }, timeoutMs)
    const onReady = (): void => {
      clearTimeout(timer)
      resolve()
    }
    client.once('ready', onReady)
  })
}
