/** The Redis store passes the DocStore contract, on a standalone server and on a three-master cluster. */
import { afterAll, beforeAll } from 'vitest'
import { pino } from 'pino'
import { runStoreContract } from './store-contract.js'
import { loadConfig } from '../server/config.js'
import { createRedisBackend, type RedisBackend } from '../server/backend/redis/backend.js'
import type { DocStore } from '../server/backend/store.js'
import { startRedis, startRedisCluster, type RedisCluster, type RedisProcess } from '../harness/redis.js'
import { DEADLINE_MS, within } from './helpers/wait.js'

let redis: RedisProcess
let cluster: RedisCluster
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()])
})
afterAll(async () => {
  await Promise.all([redis?.stop(), cluster?.stop()])
})

const log = pino({ level: 'silent' })

/** A store as an instance has it: its backend's bus closes with it. */
function harness (env: () => Record<string, string>) {
  const backends = new Map<DocStore, RedisBackend>()
  const open = async (): Promise<DocStore> => {
    const backend = await createRedisBackend(loadConfig(env()), log)
    await within(backend.whenReady(), DEADLINE_MS, 'the Redis backend to be ready')
    const close = backend.store.close.bind(backend.store)
    backend.store.close = async () => {
      await backend.bus.close()
      await close()
    }
    backends.set(backend.store, backend)
    return backend.store
  }
  return {
    open,
    reopen: async (store: DocStore): Promise<DocStore> => {
      await store.close()
      return open()
    },
  }
}

runStoreContract('RedisStore', harness(() => ({ REDIS_URL: redis.url })))
runStoreContract('RedisStore on a cluster', harness(() => ({ REDIS_CLUSTER_NODES: cluster.seeds })))
