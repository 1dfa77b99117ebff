/**
 * Quire as `npm start` runs it (harness/quire.ts: node dist/server/main.js,
 * with the node flags of the start script): one instance on the embedded
 * store, or two instances on one Redis. Logs at warn so logging costs
 * nothing measurable.
 */
import { config } from '../config.js'
import { tempDir } from '../../harness/paths.js'
import { freePort } from '../../harness/ports.js'
import { startInstance, type Instance } from '../../harness/instance.js'
import { quireCommand } from '../../harness/quire.js'
import { profileArgs } from './profile.js'
import { startBenchRedis } from './redis.js'
import { makeServer, type ServerUnderTest } from './server.js'

/**
 * Environment the bench adds to Quire's defaults. The rate limit is raised
 * only when a bench client would exceed the default (200 messages/s
 * sustained per connection): see `rateLimitEnv`.
 */
export function quireEnv (extra: Record<string, string>): Record<string, string> {
  // No load balancer in front: a stop (the cold-load restarts) drains at once rather than over the paced defaults.
  return { HOST: '127.0.0.1', LOG_LEVEL: 'warn', CLIENT_DIR: '', DRAIN_GRACE_MS: '0', DRAIN_SPREAD_MS: '0', ...benchLimitsEnv(), ...extra }
}

/** The budgets the bench changes (shown in the report): its load is one client address at high rates. */
export function benchLimitsEnv (): Record<string, string> {
  // Every bench client connects from 127.0.0.1: the per-address budget (200 by default) would refuse most,
  // and the pace of new connections (per address and per instance) would refuse the rest of a join storm with a
  // retry-after the bench's clients do not follow (docs/benchmarks.md, "Servers").
  const unlimited = '10000000'
  return {
    ...rateLimitEnv(),
    MAX_CONNECTIONS_PER_IP: unlimited,
    MAX_NEW_CONNECTIONS_PER_SECOND: unlimited,
    MAX_NEW_CONNECTIONS_BURST: unlimited,
    MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND: unlimited,
    MAX_NEW_CONNECTIONS_PER_IP_BURST: unlimited,
  }
}

/** Highest edit rate one bench connection sends. */
export function maxClientRate (): number {
  return Math.max(config.editsPerSecond, config.scaleDocRate)
}

export const DEFAULT_RATE_LIMIT = 200

export function rateLimitEnv (): Record<string, string> {
  const needed = Math.ceil(maxClientRate() * 2)
  return needed > DEFAULT_RATE_LIMIT ? { RATE_LIMIT_PER_SECOND: String(needed) } : {}
}

async function quireInstance (label: string, env: Record<string, string>): Promise<Instance> {
  const port = await freePort()
  return startInstance({
    label,
    ...quireCommand([...config.quireNodeArgs, ...profileArgs(label)]),
    env: quireEnv({ ...env, PORT: String(port) }),
    port,
  })
}

export async function startQuire (): Promise<ServerUnderTest> {
  const instance = await quireInstance('quire', { DATA_DIR: tempDir('bench-quire') })
  return makeServer('quire', 'Quire', 'yws', [instance], null)
}

/** Quire with the embedded store's other durability setting: fsync within a second (docs/configuration.md). */
export async function startQuireFsync (): Promise<ServerUnderTest> {
  const instance = await quireInstance('quire everysec', { DATA_DIR: tempDir('bench-quire-fsync'), DATA_FSYNC: 'everysec' })
  return makeServer('quire-fsync', 'Quire, DATA_FSYNC=everysec', 'yws', [instance], null)
}

export async function startQuireRedis (): Promise<ServerUnderTest> {
  const redis = await startBenchRedis('redis (quire)')
  try {
    const a = await quireInstance('quire A', { REDIS_URL: redis.url })
    const b = await quireInstance('quire B', { REDIS_URL: redis.url }).catch(async (err) => { await a.stop(); throw err })
    return makeServer('quire-redis', 'Quire ×2 + Redis', 'yws', [a, b], redis)
  } catch (err) {
    await redis.stop()
    throw err
  }
}
