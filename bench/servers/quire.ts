/**
 * Quire as `npm start` runs it (node dist/server/main.js, with the node flags
 * of the start script): one instance on the
 * embedded store, or two instances on one Redis. Logs at warn so logging
 * costs nothing measurable.
 */
import { readFileSync } from 'node:fs'
import { config } from '../config.js'
import { fromRoot, tempDir } from '../paths.js'
import { freePort } from '../processes.js'
import { profileArgs, startInstance, type Instance } from './instance.js'
import { startRedis } from './redis.js'
import { makeServer, type ServerUnderTest } from './server.js'

/**
 * Environment the bench adds to Quire's defaults. The rate limit is raised
 * only when a bench client would exceed the default (200 messages/s
 * sustained per connection): see `rateLimitEnv`.
 */
export function quireEnv (extra: Record<string, string>): Record<string, string> {
  return { HOST: '127.0.0.1', LOG_LEVEL: 'warn', CLIENT_DIR: '', ...benchLimitsEnv(), ...extra }
}

/** The budgets the bench changes (shown in the report): its load is one client address at high rates. */
export function benchLimitsEnv (): Record<string, string> {
  // Every bench client connects from 127.0.0.1: the per-address budget (200 by default) would refuse most.
  return { ...rateLimitEnv(), MAX_CONNECTIONS_PER_IP: '10000000' }
}

/** Highest message rate one bench connection sends (saturation's last step). */
export function maxClientRate (): number {
  const steps = config.scenarios.includes('saturation') ? config.saturationMaxSteps : 0
  return config.editsPerSecond * config.saturationFactor ** steps
}

export const DEFAULT_RATE_LIMIT = 200

export function rateLimitEnv (): Record<string, string> {
  const needed = Math.ceil(maxClientRate() * 2)
  return needed > DEFAULT_RATE_LIMIT ? { RATE_LIMIT_PER_SECOND: String(needed) } : {}
}

/**
 * Node flags that `npm start` gives Quire (package.json scripts.start:
 * `node <flags> dist/server/main.js`), so the bench runs Quire exactly as it
 * is started in production.
 */
export function startScriptNodeArgs (): string[] {
  try {
    const pkg = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { scripts?: Record<string, string> }
    const m = /\bnode((?:\s+--\S+)*)\s+dist\/server\/main\.js/.exec(pkg.scripts?.start ?? '')
    return m ? m[1].trim().split(/\s+/).filter(Boolean) : []
  } catch {
    return []
  }
}

async function quireInstance (label: string, env: Record<string, string>): Promise<Instance> {
  const port = await freePort()
  return startInstance({
    label,
    command: process.execPath,
    args: [...startScriptNodeArgs(), ...config.quireNodeArgs, ...profileArgs(label), fromRoot('dist', 'server', 'main.js')],
    env: quireEnv({ ...env, PORT: String(port) }),
    port,
    cwd: fromRoot(),
  })
}

export async function startQuire (): Promise<ServerUnderTest> {
  const instance = await quireInstance('quire', { DATA_DIR: tempDir('quire') })
  return makeServer('quire', 'Quire', 'yws', [instance], null)
}

export async function startQuireRedis (): Promise<ServerUnderTest> {
  const redis = await startRedis('redis (quire)')
  try {
    const a = await quireInstance('quire A', { REDIS_URL: redis.url })
    const b = await quireInstance('quire B', { REDIS_URL: redis.url }).catch(async (err) => { await a.stop(); throw err })
    return makeServer('quire-redis', 'Quire ×2 + Redis', 'yws', [a, b], redis)
  } catch (err) {
    await redis.stop()
    throw err
  }
}
