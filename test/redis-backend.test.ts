/**
 * The Redis backend in-process against a real redis-server: several
 * backends in one process stand for several instances. Covers the write
 * path (one round trip), delivery, gap and reconnect catch-up, compaction
 * (safety, concurrency, memory), awareness across instances, dead instances
 * and outages.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { pino } from 'pino'
import { Redis } from 'ioredis'
import { startRedis, type RedisProcess } from '../harness/redis.js'
import { whenDoc } from './helpers/clients.js'
import { freePort } from '../harness/ports.js'
import { textOf, typing } from './helpers/typing.js'
import { loadConfig } from '../server/config.js'
import { createRedisBackend, type RedisBackend } from '../server/backend/redis/backend.js'
import { docKeys } from '../server/backend/redis/keys.js'
import { defineScripts } from '../server/backend/redis/scripts.js'
import { AppliedPositions } from '../server/backend/redis/positions.js'
import { RedisStore } from '../server/backend/redis/redis-store.js'
import { decodeAwarenessUpdate, encodeAwarenessUpdate } from '../common/awareness.js'
import type { BusSink } from '../server/backend/bus.js'
import { BEAT_MS, TTL_MS } from '../server/backend/redis/heartbeat.js'
import { Presence } from '../server/document/presence.js'
import { DEADLINE_MS, sleep, waitOn, within } from './helpers/wait.js'

const log = pino({ level: 'silent' })
let redis: RedisProcess
let raw: Redis
const backends: RedisBackend[] = []

beforeAll(async () => {
  redis = await startRedis()
  raw = redis.client()
})
afterEach(async () => {
  for (const b of backends.splice(0)) {
    await b.bus.close()
    await b.store.close()
  }
})
afterAll(async () => { await redis.stop() })

async function instance (url = redis.url, wait = true): Promise<RedisBackend> {
  const b = await createRedisBackend(loadConfig({ REDIS_URL: url }), log)
  backends.push(b)
  if (wait) await within(b.whenReady(), DEADLINE_MS, `a backend on ${url} to be ready`)
  return b
}

interface Replica extends BusSink {
  doc: Y.Doc
  /** Every awareness update received, in order. */
  awareness: Uint8Array[]
  /** Called after each awareness update is added to `awareness`. */
  awarenessListeners: Set<() => void>
  text (): string
}

function replica (): Replica {
  const doc = new Y.Doc()
  const awareness: Uint8Array[] = []
  const awarenessListeners = new Set<() => void>()
  return {
    doc,
    awareness,
    awarenessListeners,
    text: () => doc.getText('t').toString(),
    onRemoteUpdates: (updates) => { for (const u of updates) Y.applyUpdate(doc, u) },
    onRemoteAwareness: (update) => {
      awareness.push(update)
      for (const on of [...awarenessListeners]) on()
    },
  }
}

/** Load a document on an instance, as the registry does, into a fresh replica. */
async function open (b: RedisBackend, name: string): Promise<Replica> {
  const r = replica()
  const stored = await b.store.load(name)
  r.onRemoteUpdates(stored.updates)
  await b.bus.subscribe(name, stored.position, r)
  return r
}

/** Type on a replica and append what it produced, as a document does. */
async function type (b: RedisBackend, r: Replica, name: string, text: string): Promise<string> {
  const { position } = await b.store.append(name, typing(text, r.doc))
  return position
}

/** The first awareness update (received or future) that matches. */
function whenAwarenessUpdate (r: Replica, match: (u: Uint8Array) => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<Uint8Array> {
  return waitOn((on) => {
    r.awarenessListeners.add(on)
    return () => { r.awarenessListeners.delete(on) }
  }, () => r.awareness.find(match), what, timeoutMs)
}

/** Append entries behind the instances' backs, with no message: a lost publish. */
async function appendUnpublished (name: string, updates: Uint8Array[]): Promise<void> {
  const keys = docKeys(name)
  await raw.multi().rpush(keys.log, ...updates.map((u) => Buffer.from(u))).incrby(keys.seq, updates.length).exec()
}

describe('write path', () => {
  it('appends and publishes in one round trip (one EVALSHA per append)', async () => {
    const a = await instance()
    const name = 'rt/one'
    const r = await open(a, name)
    await type(a, r, name, 'x') // loads the script, so the measured call is a plain EVALSHA
    const keys = docKeys(name)
    const monitor = await new Redis(redis.port, '127.0.0.1').monitor()
    const seen: Array<{ args: string[], source: string }> = []
    let published!: () => void
    const publishedSeen = new Promise<void>((resolve) => { published = resolve })
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!args.some((arg) => arg === keys.log || arg === keys.seq || arg === keys.channel)) return
      seen.push({ args, source })
      if (args[0].toLowerCase() === 'publish') published()
    })
    await type(a, r, name, 'y')
    await within(publishedSeen, DEADLINE_MS, 'MONITOR to show the PUBLISH of the append')
    monitor.disconnect()
    const fromClient = seen.filter((s) => s.source !== 'lua')
    expect(fromClient.map((s) => s.args[0].toLowerCase())).toEqual(['evalsha'])
    expect(seen.filter((s) => s.source === 'lua').map((s) => s.args[0].toLowerCase())).toEqual(['incrby', 'rpush', 'publish'])
  })

  it('sends the appends of documents made together as one script call (group commit); each document gets its own positions, log and message', async () => {
    const a = await instance()
    await a.store.append('group/warm-up', [new Uint8Array([0, 0])]) // loads the script: the group's call is a plain EVALSHA
    const names = Array.from({ length: 20 }, (_, i) => `group/${i}`)
    const logs = new Set(names.map((n) => docKeys(n).log))
    const updatesOf = (i: number): Uint8Array[] => Array.from({ length: (i % 3) + 1 }, (_, k) => new Uint8Array([i, k, 7]))
    const listener = new Redis(redis.port, '127.0.0.1')
    const messages = new Map<string, Buffer[]>()
    listener.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      const list = messages.get(channel.toString()) ?? []
      list.push(message)
      messages.set(channel.toString(), list)
    })
    await listener.subscribe(...names.map((n) => docKeys(n).channel))
    const monitor = await new Redis(redis.port, '127.0.0.1').monitor()
    const calls: string[] = []
    const afterLog = docKeys('group/after').log
    let sawAfter!: () => void
    const afterSeen = new Promise<void>((resolve) => { sawAfter = resolve })
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua') return
      if (args.some((arg) => logs.has(arg))) calls.push(args[0].toLowerCase())
      if (args.includes(afterLog)) sawAfter()
    })
    const results = await Promise.all(names.map((n, i) => a.store.append(n, updatesOf(i))))
    await waitOn((on) => {
      listener.on('messageBuffer', on)
      return () => { listener.off('messageBuffer', on) }
    }, () => names.every((n) => messages.has(docKeys(n).channel)), 'every document\'s message', DEADLINE_MS)
    await a.store.append('group/after', [new Uint8Array([1, 1])])
    await within(afterSeen, DEADLINE_MS, 'MONITOR to show a later append (so it has shown every command before it)')
    monitor.disconnect()
    listener.disconnect()
    expect(calls).toEqual(['evalsha'])
    expect(results.map((r) => r.position)).toEqual(names.map((_, i) => String(updatesOf(i).length)))
    for (const [i, name] of names.entries()) {
      const stored = await raw.lrangeBuffer(docKeys(name).log, 0, -1)
      expect(stored.map((b) => [...b])).toEqual(updatesOf(i).map((u) => [...u]))
      const received = messages.get(docKeys(name).channel)!
      expect(received.length).toBe(1)
      const count = updatesOf(i).length
      expect(received[0].subarray(0, received[0].indexOf('\n')).toString()).toBe(`u ${a.instanceId} ${count} ${count}`)
    }
  })

  it('a document whose keys Redis refuses fails alone: the rest of its group goes in, and nothing of it is written', async () => {
    const a = await instance()
    const [bad, good] = ['group/damaged', 'group/bystander']
    await raw.set(docKeys(bad).log, 'not a list') // as an operator's mistake could leave it
    const results = await Promise.allSettled([a.store.append(bad, [new Uint8Array([1, 1])]), a.store.append(good, [new Uint8Array([2, 2])])])
    expect(results[0].status).toBe('rejected')
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/)
    expect(results[1]).toEqual({ status: 'fulfilled', value: { position: '1' } })
    expect((await raw.lrangeBuffer(docKeys(good).log, 0, -1)).map((b) => [...b])).toEqual([[2, 2]])
    expect(await raw.exists(docKeys(bad).seq)).toBe(0)
    expect(await raw.get(docKeys(bad).log)).toBe('not a list')
  })

  it('an append made right before the store closes is still stored (close waits for its group)', async () => {
    const a = await instance()
    await a.store.append('group/close-warm-up', [new Uint8Array([0, 0])]) // a group just went: the next one waits
    const name = 'group/close'
    const appended = a.store.append(name, [new Uint8Array([5, 5])])
    await a.store.close()
    await expect(appended).resolves.toEqual({ position: '1' })
    expect((await raw.lrangeBuffer(docKeys(name).log, 0, -1)).map((b) => [...b])).toEqual([[5, 5]])
  })

  it('sends the update bytes once over pub/sub to the other instance', async () => {
    const [a, b] = [await instance(), await instance()]
    const name = 'rt/{braces} and ünïcode'
    const ra = await open(a, name)
    const rb = await open(b, name)
    const listener = new Redis(redis.port, '127.0.0.1')
    const messages: Buffer[] = []
    listener.on('messageBuffer', (_c: Buffer, m: Buffer) => messages.push(m))
    await listener.subscribe(docKeys(name).channel)
    const updates = typing('hi', ra.doc)
    await a.store.append(name, updates)
    await whenDoc(rb.doc, () => rb.text() === 'hi', 'the update to reach the other instance')
    listener.disconnect()
    expect(messages.length).toBe(1)
    for (const u of updates) expect(messages[0].includes(Buffer.from(u))).toBe(true)
  })
})

describe('catching up', () => {
  it('fills a gap (a lost message) from the log on the next message', async () => {
    const [a, b] = [await instance(), await instance()]
    const name = 'gap/lost'
    const ra = await open(a, name)
    const rb = await open(b, name)
    await type(a, ra, name, 'one ')
    await whenDoc(rb.doc, () => rb.text() === 'one ', 'the first append to reach b')
    await appendUnpublished(name, typing('two ', ra.doc))
    await type(a, ra, name, 'three')
    await whenDoc(rb.doc, () => rb.text() === 'one two three', 'b to fill the gap from the log on the next message')
    expect(b.bus.appliedPosition(name)).toBe(Number((await raw.get(docKeys(name).seq))))
  })

  it('catches up every loaded document after its pub/sub connection was killed', async () => {
    const [a, b] = [await instance(), await instance()]
    const names = ['kill/one', 'kill/two']
    const rb = await Promise.all(names.map((n) => open(b, n)))
    const writers = await Promise.all(names.map((n) => open(a, n)))
    // Kill every pub/sub connection and, before anyone can resubscribe, append
    // with no message: only the catch-up after the reconnect can deliver it.
    const keys = names.map(docKeys)
    const updates = writers.map((w, i) => typing(`missed ${i}`, w.doc))
    const pipe = raw.multi().client('KILL', 'TYPE', 'pubsub')
    keys.forEach((k, i) => pipe.rpush(k.log, ...updates[i].map((u) => Buffer.from(u))).incrby(k.seq, updates[i].length))
    await pipe.exec()
    await Promise.all(rb.map((r, i) => whenDoc(r.doc, () => r.text() === `missed ${i}`, `b to catch up ${names[i]} after its pub/sub connection was killed`)))
  })
})

describe('compaction', () => {
  it('never drops entries this instance has not applied yet', async () => {
    // A store whose document has applied entry 1 only; entry 2 (another
    // instance's) is in the log but has not reached it.
    const client = defineScripts(new Redis(redis.port, '127.0.0.1'))
    const positions = new AppliedPositions()
    const store = new RedisStore({ client, instanceId: 'test', publishCommand: 'publish', positions, busReady: () => true, log })
    const name = 'compact/unapplied'
    const mine = new Y.Doc()
    const feed = { applied: 0 }
    positions.track(name, feed)
    await store.append(name, typing('a', mine))
    expect(feed.applied).toBe(1)
    await appendUnpublished(name, typing('b', new Y.Doc()))
    const { position } = await store.append(name, typing('c', mine))
    expect(position).toBe('3')
    expect(feed.applied).toBe(1) // entry 2 still missing here
    await store.compact(name, Y.encodeStateAsUpdate(mine), position)
    const loaded = await store.load(name)
    expect(textOf(loaded.updates).split('').sort().join('')).toBe('abc')
    client.disconnect()
  })

  it('two instances compacting one document at once lose nothing, even with appends between', async () => {
    const [a, b] = [await instance(), await instance()]
    const name = 'compact/concurrent'
    const ra = await open(a, name)
    const rb = await open(b, name)
    await type(a, ra, name, 'aaa')
    await type(b, rb, name, 'bbb')
    await whenDoc(ra.doc, () => ra.text().length === 6, 'b\'s append to reach a')
    await whenDoc(rb.doc, () => rb.text().length === 6, 'a\'s append to reach b')
    const seq = await raw.get(docKeys(name).seq)
    const snapA = Y.encodeStateAsUpdate(ra.doc)
    const snapB = Y.encodeStateAsUpdate(rb.doc)
    await type(a, ra, name, 'c') // appended after both snapshots were taken
    await Promise.all([
      a.store.compact(name, snapA, seq!),
      b.store.compact(name, snapB, seq!),
      type(b, rb, name, 'd'),
    ])
    const loaded = await a.store.load(name)
    expect(loaded.updates.length).toBeLessThanOrEqual(3)
    expect(textOf(loaded.updates).split('').sort().join('')).toBe('aaabbbcd')
  })

  it('keeps Redis memory per document close to its encoded size', async () => {
    const a = await instance()
    const name = 'compact/memory'
    const r = await open(a, name)
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(60)
    // Typed in bursts of 20 characters, one append per burst (as a document batches a turn).
    const updates = typing(text, r.doc)
    let position = ''
    for (let i = 0; i < updates.length; i += 20) position = (await a.store.append(name, updates.slice(i, i + 20))).position
    const keys = docKeys(name)
    const memory = async (): Promise<number> => {
      let total = 0
      for (const key of [keys.log, keys.seq]) total += Number(await raw.memory('USAGE', key, 'SAMPLES', '0'))
      return total
    }
    const before = await memory()
    const snapshot = Y.encodeStateAsUpdate(r.doc)
    await a.store.compact(name, snapshot, position)
    const after = await memory()
    console.log(`redis memory for ${updates.length} updates (${text.length} chars): ${before} B before compaction, ${after} B after; encoded ${snapshot.length} B`)
    expect(after).toBeLessThanOrEqual(1.2 * snapshot.length + 512)
    expect(after).toBeLessThan(before)
  })
})

describe('awareness across instances', () => {
  const state = (clientId: number, clock: number, json: string): Uint8Array => encodeAwarenessUpdate([{ clientId, clock, json }])
  const has = (clientId: number, json: string) => (u: Uint8Array): boolean =>
    decodeAwarenessUpdate(u).some((e) => e.clientId === clientId && e.json === json)

  it('reaches the other instances, and a late instance asks for it', async () => {
    const [a, b] = [await instance(), await instance()]
    const name = 'aw/relay'
    await open(a, name)
    const rb = await open(b, name)
    a.bus.publishAwareness(name, state(7, 1, '{"user":"ann"}'))
    await whenAwarenessUpdate(rb, has(7, '{"user":"ann"}'), 'Ann\'s state to reach instance b')
    const c = await instance()
    const rc = await open(c, name)
    await whenAwarenessUpdate(rc, has(7, '{"user":"ann"}'), 'a late instance to get Ann\'s state by asking')
  })

  it('removes the clients of an instance that stopped heartbeating', async () => {
    const [a, b] = [await instance(), await instance()]
    const name = 'aw/dead'
    await open(a, name)
    const rb = await open(b, name)
    a.bus.publishAwareness(name, state(41, 3, '{"user":"bob"}'))
    await whenAwarenessUpdate(rb, has(41, '{"user":"bob"}'), 'Bob\'s state to reach instance b')
    // A crash: connections gone, no goodbye.
    const died = performance.now()
    ;(a.store as unknown as { opts: { client: Redis } }).opts.client.disconnect()
    await a.bus.close()
    const removal = await whenAwarenessUpdate(rb, has(41, 'null'), 'b to remove the clients of the instance that stopped heartbeating')
    console.log(`dead instance's presence removed after ${Math.round(performance.now() - died)} ms`)
    expect(decodeAwarenessUpdate(removal)).toEqual([{ clientId: 41, clock: 3, json: 'null' }])
    // Had the instance only stalled, its client's next renewal shows it again.
    const presence = new Presence()
    presence.apply(state(41, 3, '{"user":"bob"}'), true)
    presence.apply(removal, true)
    expect(presence.snapshot()).toBeNull()
    presence.apply(state(41, 4, '{"user":"bob"}'), true)
    expect(presence.snapshot()).not.toBeNull()
  })
})

describe('outages', () => {
  it('fails writes fast while Redis is down, then persists and relays once it is back', async () => {
    const local = await startRedis()
    const [a, b] = [await instance(local.url), await instance(local.url)]
    const name = 'outage/writes'
    const ra = await open(a, name)
    const rb = await open(b, name)
    await type(a, ra, name, 'before ')
    await whenDoc(rb.doc, () => rb.text() === 'before ', 'the first append to reach b')
    await local.kill()
    await expect(type(a, ra, name, 'lost?')).rejects.toThrow()
    expect(await a.store.isReady()).toBe(false)
    const back = await local.restart()
    try {
      await within(a.whenReady(), DEADLINE_MS, 'instance a to be ready again once Redis is back')
      // The document layer retries its pending updates; here, once by hand.
      await a.store.append(name, [Y.encodeStateAsUpdate(ra.doc)])
      await whenDoc(rb.doc, () => rb.text() === 'before lost?', 'the retried append to reach b once Redis is back')
      expect(await a.store.isReady()).toBe(true)
    } finally {
      await back.stop()
    }
  })

  it('does not take instances for dead because Redis was away longer than their heartbeat', async () => {
    const local = await startRedis()
    const [a, b] = [await instance(local.url), await instance(local.url)]
    const name = 'outage/presence'
    await open(a, name)
    const rb = await open(b, name)
    a.bus.publishAwareness(name, encodeAwarenessUpdate([{ clientId: 52, clock: 1, json: '{"user":"cy"}' }]))
    await whenAwarenessUpdate(rb, (u) => decodeAwarenessUpdate(u).some((e) => e.clientId === 52), 'client 52\'s state to reach b')
    const aClient = (a.store as unknown as { opts: { client: Redis } }).opts.client
    await local.kill()
    aClient.disconnect() // A comes back later than B, by hand
    // Fault durations, not waits for an event: what must NOT happen (B calling
    // A dead) could only happen during them. Redis stays away longer than the
    // heartbeat TTL, so every entry has expired when it returns; then B runs
    // two beats before A is back.
    const OUTAGE_MS = TTL_MS + 500
    const B_ALONE_MS = 2 * BEAT_MS
    await sleep(OUTAGE_MS)
    const back = await local.restart()
    try {
      await within(b.whenReady(), DEADLINE_MS, 'instance b to be ready again once Redis is back')
      await sleep(B_ALONE_MS)
      await aClient.connect()
      await within(a.whenReady(), DEADLINE_MS, 'instance a to be ready again after reconnecting')
      // Now A really dies; B reports it then, and did not before.
      const beforeDeath = rb.awareness.length
      aClient.disconnect()
      await a.bus.close()
      const removal = await whenAwarenessUpdate(rb, (u) => decodeAwarenessUpdate(u).some((e) => e.clientId === 52 && e.json === 'null'), 'b to remove client 52 once A really died')
      expect(rb.awareness.indexOf(removal)).toBeGreaterThanOrEqual(beforeDeath)
    } finally {
      await back.stop()
    }
  })

  it('starts with Redis unreachable and loads once it comes', async () => {
    const port = await freePort()
    const a = await instance(`redis://127.0.0.1:${port}`, false)
    expect(await a.store.isReady()).toBe(false)
    const loading = a.store.load('outage/late')
    const late = await startRedis({ port })
    try {
      expect(await within(loading, DEADLINE_MS, 'the load to complete once Redis came')).toEqual({ updates: [], position: null, bytes: 0 })
    } finally {
      await late.stop()
    }
  })
})
