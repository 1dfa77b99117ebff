/**
 * A redis-server of the bench's own, on a free port with AOF on (appendfsync
 * everysec, as a production Redis would run), plus the few reads the report
 * needs: the memory its keys take.
 */
import { execFileSync } from 'node:child_process'
import { Redis } from 'ioredis'
import { freePort, spawnChild, stopChild, waitForPort, type Child } from '../processes.js'
import { tempDir } from '../paths.js'

export interface RedisServer {
  port: number
  url: string
  child: Child
  /** Sum of MEMORY USAGE over every key, and how many keys there are. */
  keyMemory (): Promise<{ bytes: number, keys: number }>
  /** INFO memory used_memory. */
  usedMemory (): Promise<number>
  stop (): Promise<void>
}

export function redisBinary (): string | null {
  const fromEnv = process.env.REDIS_SERVER_BIN
  if (fromEnv) return fromEnv
  try {
    return execFileSync('which', ['redis-server'], { encoding: 'utf8' }).trim() || null
  } catch {
    return null
  }
}

export function redisVersion (): string {
  const bin = redisBinary()
  if (!bin) return 'not installed'
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8' })
    return /v=(\S+)/.exec(out)?.[1] ?? out.trim()
  } catch {
    return 'unknown'
  }
}

export async function startRedis (label: string): Promise<RedisServer> {
  const bin = redisBinary()
  if (!bin) throw new Error('redis-server not found on PATH: install it with `apt-get install redis-server` (or set REDIS_SERVER_BIN)')
  const port = await freePort()
  const dir = tempDir('redis')
  const child = spawnChild(label, bin, [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no',
  ], {})
  await waitForPort(child, port)
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    child,
    async keyMemory () {
      let bytes = 0
      let keys = 0
      let cursor = '0'
      do {
        const [next, batch] = await client.scan(cursor, 'COUNT', 1000)
        cursor = next
        for (const key of batch) {
          // SAMPLES 0: look at every element, not an estimate.
          const used = await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') as number | null
          if (used !== null) {
            bytes += used
            keys++
          }
        }
      } while (cursor !== '0')
      return { bytes, keys }
    },
    async usedMemory () {
      const info = await client.info('memory')
      return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0)
    },
    async stop () {
      client.disconnect()
      await stopChild(child)
    },
  }
}
