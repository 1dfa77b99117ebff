/** Every DocStore passes the same contract: memory, embedded (LevelDB), Redis, Redis Cluster. */
import { afterAll, beforeAll } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { storeContract } from './store-contract.js'
import { MemoryStore } from '../server/store/memory-store.js'
import { LevelStore } from '../server/store/level-store.js'
import { loadConfig } from '../server/config.js'
import { createRedisBackend, type RedisBackend } from '../server/redis/backend.js'
import type { DocStore } from '../server/store/store.js'
import { startRedis, startRedisCluster, type RedisCluster, type RedisProcess } from './helpers/redis.js'

let redis: RedisProcess
let cluster: RedisCluster
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()])
})
afterAll(async () => {
  await Promise.all([redis?.stop(), cluster?.stop()])
})

const log = pino({ level: 'silent' })
const backends = new Map<DocStore, RedisBackend>()
const openRedis = (env: Record<string, string>) => async (): Promise<DocStore> => {
  const backend = await createRedisBackend(loadConfig(env), log)
  await backend.whenReady()
  backends.set(backend.store, backend)
  return backend.store
}
const closeRedis = async (store: DocStore): Promise<void> => {
  await backends.get(store)?.bus.close()
  await store.close()
}

storeContract('memory', async () => new MemoryStore())
storeContract('embedded', () => LevelStore.open(mkdtempSync(join(tmpdir(), 'quire-contract-')), { sync: false }))
storeContract('redis', () => openRedis({ REDIS_URL: redis.url })(), closeRedis)
storeContract('redis cluster', () => openRedis({ REDIS_CLUSTER_NODES: cluster.seeds })(), closeRedis)
