/** The Redis store passes the DocStore contract, on a standalone server and on a three-master cluster. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { runStoreContract } from './store-contract.js'
import { loadConfig } from '../server/config.js'
import { createRedisBackend, type RedisBackend } from '../server/backend/redis/backend.js'
import type { DocStore } from '../server/backend/store.js'
import { DOCUMENTS_KEY } from '../server/backend/redis/keys.js'
import { startRedis, startRedisCluster, type RedisCluster, type RedisProcess } from '../harness/redis.js'
import { DEADLINE_MS, waitFor, within } from './helpers/wait.js'

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

describe('RedisStore listing', () => {
  it('a document stored before listings existed (no listing entry) is listed after its next write', async () => {
    const store = await harness(() => ({ REDIS_URL: redis.url })).open()
    const name = `unlisted-${process.pid}`
    await store.append(name, [new Uint8Array([1, 1])])
    // As an older version left it: stored, but not in the listing.
    await redis.client().zrem(DOCUMENTS_KEY, name)
    await store.close()
    const later = await harness(() => ({ REDIS_URL: redis.url })).open()
    expect((await later.list(name, null, 10)).documents).toEqual([])
    await later.append(name, [new Uint8Array([2, 2])])
    await waitFor(() => later.list(name, null, 10), (page) => page.documents.some((d) => d.name === name), 'the document to be listed after its write')
    await later.close()
  })
})
