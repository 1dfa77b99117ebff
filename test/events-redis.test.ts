/**
 * Live events and presence across instances (docs/events.md, "Across
 * instances"): two real Quire processes on a real Redis (and on a Redis
 * Cluster). An event made on A reaches a stream held by B; the presence
 * registry answers on B for users on A, and empties within seconds when A
 * is killed with -9.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, startRedisCluster, type RedisCluster, type RedisProcess } from '../harness/redis.js'
import type { QuireProcess } from '../harness/quire.js'
import { connectClient, whenSynced, type TestClient } from './helpers/clients.js'
import { fleet } from './helpers/fleet.js'
import { openStream, type SseStream } from './helpers/sse.js'
import { waitFor } from './helpers/wait.js'
import { liveKeys } from '../server/backend/redis/live.js'
import { docKeys } from '../server/backend/redis/keys.js'
import { keySlot } from '../server/backend/redis/slot.js'

const quires = fleet()
const streams: SseStream[] = []
const clients: TestClient[] = []
afterAll(async () => {
  for (const s of streams) s.close()
  for (const c of clients) c.destroy()
  await quires.stopAll()
})

const stream = async (q: QuireProcess, query: string, headers: Record<string, string> = {}): Promise<SseStream> => {
  const s = await openStream(`${q.url}/api/events?${query}`, { headers })
  streams.push(s)
  expect(s.status).toBe(200)
  await s.next((e) => e.event === 'reset', `the opening reset of ${query}`)
  return s
}

async function join (q: QuireProcess, doc: string, user: { id: string, name: string }): Promise<TestClient> {
  const client = connectClient(q.wsUrl, doc)
  clients.push(client)
  client.provider.awareness.setLocalStateField('user', user)
  await whenSynced(client, `${user.name} to sync ${doc}`)
  return client
}

type Listed = Array<{ id: string, name: string }>
const presence = async (q: QuireProcess, doc: string): Promise<Listed> =>
  (await fetch(`${q.url}/api/documents/${encodeURIComponent(doc)}/presence`)).json() as Promise<Listed>

const percentile = (values: number[], p: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]

describe('two instances on one Redis', () => {
  let redis: RedisProcess
  let a: QuireProcess
  let b: QuireProcess
  beforeAll(async () => {
    redis = await startRedis()
    const env = { REDIS_URL: redis.url, EVENTS_ACTIVITY_MS: '0', EVENTS_HEARTBEAT_MS: '1000' }
    ;[a, b] = await Promise.all([quires.start(env), quires.start(env)])
  })
  afterAll(async () => { await redis?.stop() })

  it('an edit and a join on A reach a stream held by B', async () => {
    const onB = await stream(b, 'docs=x/doc')
    const ann = await join(a, 'x/doc', { id: 'ann', name: 'Ann' })
    const joined = await onB.next((e) => e.event === 'join', 'Ann (on A) joining, seen on B')
    expect(joined.json).toMatchObject({ doc: 'x/doc', user: { id: 'ann', name: 'Ann' } })

    // Time from an edit on A to its change event on B, one edit at a time.
    const latencies: number[] = []
    for (let i = 0; i < 20; i++) {
      const from = onB.events.length
      const started = performance.now()
      ann.text.insert(0, 'x')
      const change = await onB.next((e) => e.event === 'change', `change ${i} (made on A) on B`, { from })
      latencies.push(change.receivedAt - started)
      expect(change.json.by).toEqual([{ id: 'ann', name: 'Ann' }])
    }
    console.log(`edit on A -> change event on B: p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p95 ${percentile(latencies, 0.95).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms (20 edits)`)
    expect(await presence(b, 'x/doc')).toEqual([expect.objectContaining({ id: 'ann', name: 'Ann' })])
  })

  it('a stream opened on B later starts from the registry: who is on A, and the last change', async () => {
    await join(a, 'x/later', { id: 'bea', name: 'Bea' }).then((c) => { c.text.insert(0, 'y') })
    await waitFor(() => presence(b, 'x/later'), (l) => l.length === 1, 'Bea (on A) in B\'s presence answer')
    const late = await openStream(`${b.url}/api/events?docs=x/later`)
    streams.push(late)
    const reset = await late.next((e) => e.event === 'reset', 'the reset of a stream opened after Bea came')
    expect(reset.json.docs[0].users).toEqual([expect.objectContaining({ id: 'bea', name: 'Bea' })])
    await waitFor(async () => {
      const again = await openStream(`${b.url}/api/events?docs=x/later`)
      const r = await again.next((e) => e.event === 'reset', 'a reset')
      again.close()
      return r.json.docs[0].lastChange as { by: Listed } | null
    }, (c) => c !== null, 'Bea\'s change in a reset on B')
  })

  it('the same person on A and on B counts once, and leaves when their last tab goes', async () => {
    const onA = await stream(a, 'docs=x/both')
    const tabA = await join(a, 'x/both', { id: 'cal', name: 'Cal' })
    await onA.next((e) => e.event === 'join', 'Cal joining')
    const tabB = await join(b, 'x/both', { id: 'cal', name: 'Cal' })
    await waitFor(() => presence(a, 'x/both'), (l) => l.length === 1, 'one Cal')
    // Both instances' fields for Cal are in Redis (A has heard of B's tab), then A's tab goes.
    await waitFor(async () => (await readRegistry(redis, 'x/both')).length, (n) => n === 2, 'a field for Cal from each instance in Redis')
    tabA.destroy()
    // Still there through B.
    await waitFor(async () => (await readRegistry(redis, 'x/both')).length, (n) => n === 1, 'only B\'s field for Cal left in Redis')
    expect(onA.events.filter((e) => e.event === 'leave')).toEqual([])
    tabB.destroy()
    await onA.next((e) => e.event === 'leave', 'Cal leaving with the last tab (on B)')
  })

  it('presence kept in Redis empties within seconds after kill -9 of the instance that held it; B\'s stream says they left', async () => {
    const dan = await join(a, 'x/crash', { id: 'dan', name: 'Dan' })
    const onB = await stream(b, 'docs=x/crash')
    await waitFor(() => presence(b, 'x/crash'), (l) => l.length === 1, 'Dan (on A) in B\'s presence answer')
    const killedAt = performance.now()
    await quires.stop(a, 'SIGKILL')
    dan.destroy()
    const left = await onB.next((e) => e.event === 'leave', 'Dan leaving once A is dead', { timeoutMs: 10_000 })
    await waitFor(() => presence(b, 'x/crash'), (l) => l.length === 0, 'an empty presence answer on B', 10_000)
    const emptied = performance.now() - killedAt
    console.log(`kill -9 of A -> leave event on B after ${(left.receivedAt - killedAt).toFixed(0)} ms; presence answer empty after ${emptied.toFixed(0)} ms`)
    expect(emptied).toBeLessThan(8_000)
  })
})

/** The users the registry hash of `doc` holds, read straight from Redis. */
async function readRegistry (redis: RedisProcess, doc: string): Promise<string[]> {
  const c = redis.client()
  try {
    return Object.keys(await c.hgetall(liveKeys(doc).presence))
  } finally {
    c.disconnect()
  }
}

describe('two instances on a Redis Cluster', () => {
  let cluster: RedisCluster
  let a: QuireProcess
  let b: QuireProcess
  beforeAll(async () => {
    cluster = await startRedisCluster()
    const env = { REDIS_CLUSTER_NODES: cluster.seeds, EVENTS_ACTIVITY_MS: '0' }
    ;[a, b] = await Promise.all([quires.start(env), quires.start(env)])
  })
  afterAll(async () => {
    for (const q of [a, b]) if (q) await quires.stop(q)
    await cluster?.stop()
  })

  it('keeps a document\'s presence keys in its slot, and carries events and presence across instances', async () => {
    for (const name of ['plain', 'a{b}c', 'ünï/{x}']) {
      const keys = liveKeys(name)
      expect(keySlot(keys.presence)).toBe(keySlot(docKeys(name).log))
      expect(keySlot(keys.activity)).toBe(keySlot(docKeys(name).log))
    }
    const onB = await stream(b, 'prefix=c/')
    const eve = await join(a, 'c/{tagged}', { id: 'eve', name: 'Eve' })
    await onB.next((e) => e.event === 'join' && e.json.doc === 'c/{tagged}', 'Eve (on A) joining, seen on B')
    eve.text.insert(0, 'z')
    await onB.next((e) => e.event === 'change', 'Eve\'s change on B')
    expect(await presence(b, 'c/{tagged}')).toEqual([expect.objectContaining({ id: 'eve' })])
    eve.destroy()
    await onB.next((e) => e.event === 'leave', 'Eve leaving, seen on B')
    await waitFor(() => presence(b, 'c/{tagged}'), (l) => l.length === 0, 'an empty presence answer')
  })
})
