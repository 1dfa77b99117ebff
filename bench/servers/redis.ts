/**
 * The bench's redis-server (started by harness/redis.ts with appendfsync
 * everysec, as a production Redis would run), plus the few reads the report
 * needs: the memory its keys take.
 */
import { startRedis, type RedisProcess } from '../../harness/redis.js'

export interface RedisServer extends RedisProcess {
  /** Sum of MEMORY USAGE over every key, and how many keys there are. */
  keyMemory (): Promise<{ bytes: number, keys: number }>
  /** INFO memory used_memory. */
  usedMemory (): Promise<number>
}

export async function startBenchRedis (label: string): Promise<RedisServer> {
  const redis = await startRedis({ label, appendfsync: 'everysec' })
  const client = redis.client()
  return Object.assign(redis, {
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
  })
}
