/**
 * Quire on a real three-master Redis Cluster: a document's keys share one
 * slot whatever its name, its traffic uses sharded pub/sub on the master
 * that owns that slot, and instances stay in sync across shards, also after
 * their pub/sub connections are killed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedisCluster, type RedisCluster } from '../harness/redis.js'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { connectClient, whenDoc, whenSynced, type TestClient } from './helpers/clients.js'
import { startTyping, whenConverged, type Typist } from './helpers/chaos.js'
import { docKeys } from '../server/backend/redis/keys.js'
import { keySlot } from '../server/backend/redis/slot.js'

let cluster: RedisCluster
let quires: QuireProcess[] = []
const clients: TestClient[] = []

beforeAll(async () => {
  cluster = await startRedisCluster()
  quires = await Promise.all([0, 1].map(() => startQuire({ REDIS_CLUSTER_NODES: cluster.seeds })))
})
afterAll(async () => {
  for (const c of clients) c.destroy()
  await Promise.all(quires.map((q) => q.kill()))
  await cluster?.stop()
})

function client (q: QuireProcess, doc: string): TestClient {
  const c = connectClient(q.wsUrl, doc)
  clients.push(c)
  return c
}

/** The master that serves a slot, by asking the cluster. */
async function ownerPort (slot: number): Promise<number> {
  const slots = await cluster.masters[0].client().cluster('SLOTS')
  const [, , [, port]] = slots.find(([from, to]) => slot >= from && slot <= to)!
  return port
}

/** Doc names whose slots fall on three different masters. */
async function docsOnEveryShard (): Promise<string[]> {
  const byOwner = new Map<number, string>()
  for (let i = 0; byOwner.size < 3; i++) {
    const name = `cluster/{shard}/${i}`
    const port = await ownerPort(keySlot(docKeys(name).log))
    if (!byOwner.has(port)) byOwner.set(port, name)
  }
  return [...byOwner.values()]
}

describe('Redis Cluster', () => {
  it('puts every key and the channel of a document in one slot, whatever its name', async () => {
    const admin = cluster.masters[0].client()
    for (const name of ['plain', 'a{b}c', '{', '}{', 'ünï/{x}/çødé']) {
      const keys = docKeys(name)
      const slots = await Promise.all([keys.log, keys.seq, keys.channel].map((k) => admin.cluster('KEYSLOT', k)))
      expect(new Set(slots).size).toBe(1)
      expect(slots[0]).toBe(keySlot(keys.log))
    }
    expect(keySlot(docKeys('a{b}c').log)).not.toBe(keySlot(docKeys('b').log))
  })

  it('syncs instances over sharded pub/sub on each document\'s shard, and survives killed pub/sub connections', async () => {
    const docs = await docsOnEveryShard()
    const [a, b] = quires
    const groups = docs.map((doc) => [client(a, doc), client(b, doc)])
    await Promise.all(groups.flat().map((c, i) => whenSynced(c, `client ${i} to sync`)))

    for (const [i, doc] of docs.entries()) {
      const channel = docKeys(doc).channel
      const owner = await ownerPort(keySlot(channel))
      for (const m of cluster.masters) {
        const c = m.client()
        const shard = await c.pubsub('SHARDCHANNELS') as string[]
        expect(shard.includes(channel)).toBe(m.port === owner)
        expect(await c.pubsub('CHANNELS')).toEqual([])
      }
      groups[i][0].text.insert(0, `hello ${i}`)
    }
    await Promise.all(groups.map((g, i) => whenConverged(g, [`hello ${i}`], `the clients of ${docs[i]} to converge on "hello ${i}"`)))

    const typists: Typist[] = groups.flat().map((c, i) => startTyping(c, `s${i}`))
    for (let round = 0; round < 4; round++) {
      await whenConverged([groups[0][1]], [`<s0.${5 * (round + 1)}>`], `round ${round}: the second client of ${docs[0]} to get token ${5 * (round + 1)} of the first`)
      await Promise.all(cluster.masters.map((m) => m.client().client('KILL', 'TYPE', 'pubsub')))
    }
    for (const t of typists) t.stop()
    const texts = await Promise.all(groups.map((g, i) => whenConverged(g, [...typists[2 * i].tokens, ...typists[2 * i + 1].tokens], `the clients of ${docs[i]} to converge with every token typed`)))

    // Everything is in the cluster: a new instance serves the same texts.
    await Promise.all(quires.map((q) => q.kill('SIGKILL')))
    quires = [await startQuire({ REDIS_CLUSTER_NODES: cluster.seeds })]
    for (const [i, doc] of docs.entries()) {
      const fresh = client(quires[0], doc)
      await whenSynced(fresh, `a client of the new instance to sync ${doc}`)
      expect(fresh.text.toString()).toBe(texts[i])
    }
  })
})

describe('a cluster that requires a password', () => {
  it('instances log in with REDIS_PASSWORD, data and sharded pub/sub alike; a wrong one is never ready', async () => {
    const password = 'cluster-secret-0123456789'
    const locked = await startRedisCluster(3, { password })
    const started: QuireProcess[] = []
    try {
      const env = { REDIS_CLUSTER_NODES: locked.seeds, REDIS_PASSWORD: password }
      const [a, b] = await Promise.all([startQuire(env), startQuire(env)])
      started.push(a, b)
      const ca = client(a, 'auth/doc')
      const cb = client(b, 'auth/doc')
      await Promise.all([whenSynced(ca, 'the client on instance a to sync'), whenSynced(cb, 'the client on instance b to sync')])
      // Across instances: the update goes through the cluster's sharded pub/sub.
      ca.text.insert(0, 'through a locked cluster')
      await whenDoc(cb.doc, () => cb.text.toString() === 'through a locked cluster', 'the edit on a to reach b through the locked cluster')
      const received = /^quire_redis_pubsub_messages_total (\d+)$/m.exec(await (await fetch(`${b.url}/metrics`)).text())
      expect(Number(received?.[1])).toBeGreaterThan(0)
      const wrong = await startQuire({ REDIS_CLUSTER_NODES: locked.seeds, REDIS_PASSWORD: 'not-the-password' })
      started.push(wrong)
      // Not just not ready yet: it tried, failed, and still says not ready.
      await wrong.waitForLog('redis connection error')
      expect((await fetch(`${wrong.url}/readyz`)).status).toBe(503)
    } finally {
      await Promise.all(started.map((q) => q.kill()))
      await locked.stop()
    }
  })
})
