/**
 * Figures for docs/scaling.md, measured on this machine with real processes:
 *   - cross-instance latency: an edit typed on instance A until a client on B has it
 *     (and, for comparison, until another client on A has it);
 *   - throughput: a burst of edits on A until B has them all;
 *   - Redis memory of one document before and after compaction;
 *   - time from kill -9 of an instance to its clients' presence disappearing elsewhere.
 *
 *   npm run build && node dist/bench/redis-figures.js
 */
import * as Y from 'yjs'
import { pino } from 'pino'
import { startRedis } from '../harness/redis.js'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { connectClient, whenEvent, type StockClient } from '../harness/clients.js'
import { loadConfig } from '../server/config.js'
import { createRedisBackend } from '../server/backend/redis/backend.js'
import { docKeys } from '../server/backend/redis/keys.js'

const SAMPLES = 300

const whenSynced = (c: StockClient, what: string): Promise<void> => whenEvent(c.provider, 'sync', () => c.provider.synced, what)

/** Until the client sees (or no longer sees) the awareness state of `clientId`. */
const whenPresence = (c: StockClient, clientId: number, present: boolean): Promise<void> =>
  whenEvent(c.provider.awareness, 'change', () => c.provider.awareness.getStates().has(clientId) === present,
    `client ${clientId}'s presence to ${present ? 'appear' : 'disappear'}`, 60_000)

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

function summary (ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b)
  return `p50 ${percentile(s, 0.5).toFixed(2)} ms, p95 ${percentile(s, 0.95).toFixed(2)} ms, p99 ${percentile(s, 0.99).toFixed(2)} ms (n=${s.length})`
}

/** Time from an insert on `from` until `to` has it, one edit at a time. */
async function latency (from: StockClient, to: StockClient, samples: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < samples; i++) {
    const token = `#${i};`
    const seen = new Promise<number>((resolve) => {
      const on = (): void => {
        if (!to.text.toString().includes(token)) return
        to.doc.off('afterTransaction', on)
        resolve(performance.now())
      }
      to.doc.on('afterTransaction', on)
    })
    const start = performance.now()
    from.text.insert(from.text.length, token)
    out.push(await seen - start)
  }
  return out
}

async function measureLatency (appendfsync: 'always' | 'everysec'): Promise<void> {
  const redis = await startRedis({ appendfsync })
  const [a, b] = await Promise.all([0, 1].map(() => startQuire({ REDIS_URL: redis.url })))
  const doc = 'figures/latency'
  const a1 = connectClient(a.wsUrl, doc)
  const a2 = connectClient(a.wsUrl, doc)
  const b1 = connectClient(b.wsUrl, doc)
  await Promise.all([a1, a2, b1].map((c) => whenSynced(c, 'the latency clients to sync')))
  await latency(a1, b1, 30) // warm up
  console.log(`appendfsync ${appendfsync}: same instance   ${summary(await latency(a1, a2, SAMPLES))}`)
  console.log(`appendfsync ${appendfsync}: across instances ${summary(await latency(a1, b1, SAMPLES))}`)
  for (const c of [a1, a2, b1]) c.destroy()
  await Promise.all([a.kill(), b.kill()])
  await redis.stop()
}

/** One client on A types `edits` characters as fast as it can; how long until a client on B has them all. */
async function measureThroughput (edits: number): Promise<void> {
  const redis = await startRedis({ appendfsync: 'everysec' })
  const env = { REDIS_URL: redis.url, RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '1000000' }
  const [a, b] = await Promise.all([0, 1].map(() => startQuire(env)))
  const doc = 'figures/throughput'
  const writer = connectClient(a.wsUrl, doc)
  const reader = connectClient(b.wsUrl, doc)
  await Promise.all([whenSynced(writer, 'the writer to sync'), whenSynced(reader, 'the reader to sync')])
  const done = new Promise<number>((resolve) => {
    const on = (): void => {
      if (reader.text.length < edits) return
      reader.doc.off('afterTransaction', on)
      resolve(performance.now())
    }
    reader.doc.on('afterTransaction', on)
  })
  const start = performance.now()
  for (let i = 0; i < edits; i++) writer.text.insert(writer.text.length, 'x')
  const ms = await done - start
  const seq = Number(await redis.client().get(docKeys(doc).seq))
  console.log(`throughput: ${edits} edits typed on A, all on B after ${ms.toFixed(0)} ms (${Math.round(edits / ms * 1000)} edits/s; ${seq} log entries written)`)
  writer.destroy()
  reader.destroy()
  await Promise.all([a.kill(), b.kill()])
  await redis.stop()
}

async function measureMemory (): Promise<void> {
  const redis = await startRedis()
  const backend = await createRedisBackend(loadConfig({ REDIS_URL: redis.url }), pino({ level: 'silent' }))
  await backend.whenReady()
  const raw = redis.client()
  for (const chars of [2_000, 20_000, 100_000]) {
    const name = `figures/memory-${chars}`
    const doc = new Y.Doc()
    const text = doc.getText('t')
    const updates: Uint8Array[] = []
    doc.on('update', (u: Uint8Array) => updates.push(u))
    const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit '
    for (let i = 0; i < chars; i++) {
      // Mostly typing at the end, now and then a correction elsewhere.
      if (i % 50 === 49) text.delete(Math.floor(text.length / 2), 1)
      else text.insert(i % 97 === 0 ? Math.floor(text.length / 3) : text.length, words[i % words.length])
    }
    let position = ''
    for (let i = 0; i < updates.length; i += 20) position = (await backend.store.append(name, updates.slice(i, i + 20))).position
    const keys = docKeys(name)
    const usage = async (): Promise<number> =>
      Number(await raw.memory('USAGE', keys.log, 'SAMPLES', '0')) + Number(await raw.memory('USAGE', keys.seq, 'SAMPLES', '0'))
    const before = await usage()
    const snapshot = Y.encodeStateAsUpdate(doc)
    await backend.store.compact(name, snapshot, position)
    const after = await usage()
    console.log(`memory: ${updates.length} updates, encoded ${snapshot.length} B: ${before} B before compaction, ${after} B after (${(after / snapshot.length).toFixed(2)}x encoded)`)
  }
  await backend.bus.close()
  await backend.store.close()
  await redis.stop()
}

async function measurePresenceRemoval (rounds: number): Promise<void> {
  const redis = await startRedis()
  const b = await startQuire({ REDIS_URL: redis.url })
  const out: number[] = []
  for (let i = 0; i < rounds; i++) {
    const a: QuireProcess = await startQuire({ REDIS_URL: redis.url })
    const doc = `figures/presence-${i}`
    const ca = connectClient(a.wsUrl, doc)
    const cb = connectClient(b.wsUrl, doc)
    await Promise.all([whenSynced(ca, 'the client on A to sync'), whenSynced(cb, 'the client on B to sync')])
    ca.provider.awareness.setLocalStateField('user', { name: 'A' })
    const id = ca.doc.clientID
    await whenPresence(cb, id, true)
    const start = performance.now()
    await a.kill('SIGKILL')
    await whenPresence(cb, id, false)
    out.push(performance.now() - start)
    ca.destroy()
    cb.destroy()
  }
  const s = [...out].sort((x, y) => x - y)
  console.log(`presence of a kill -9'd instance's client gone elsewhere after: min ${s[0].toFixed(0)} ms, median ${percentile(s, 0.5).toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms (n=${s.length})`)
  await b.kill()
  await redis.stop()
}

await measureLatency('everysec')
await measureLatency('always')
await measureThroughput(5_000)
await measureMemory()
await measurePresenceRemoval(6)
process.exit(0)
