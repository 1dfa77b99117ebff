/**
 * Fault tests with real processes: Quire instances (node dist/server/main.js)
 * sharing one redis-server with AOF, stock y-websocket clients typing. In
 * each scenario all clients converge, and every token any client typed is
 * still there after everything (Quire and Redis) was killed and restarted.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { connectClient, whenDoc, whenSynced, whenAwareness, type TestClient } from './helpers/clients.js'
import { QUICK_DRAIN } from './helpers/env-presets.js'
import { DEADLINE_MS } from './helpers/wait.js'
import { startRedis, type RedisProcess } from '../harness/redis.js'
import { startTyping, whenConverged, whenStatus, type Typist } from './helpers/chaos.js'
import { freePort } from '../harness/ports.js'
import { docKeys } from '../server/backend/redis/keys.js'

let redis: RedisProcess
const quires: QuireProcess[] = []
const clients: TestClient[] = []
const typists: Typist[] = []

beforeAll(async () => { redis = await startRedis() })
afterEach(async () => {
  for (const t of typists.splice(0)) t.stop()
  for (const c of clients.splice(0)) c.destroy()
  await Promise.all(quires.splice(0).map((q) => q.kill()))
})
afterAll(async () => { await redis.stop() })

async function quire (env: Record<string, string> = {}): Promise<QuireProcess> {
  const q = await startQuire({ REDIS_URL: redis.url, RATE_LIMIT_PER_SECOND: '10000', ...env })
  quires.push(q)
  return q
}

function client (q: QuireProcess, doc: string): TestClient {
  const c = connectClient(q.wsUrl, doc)
  clients.push(c)
  return c
}

function typing (c: TestClient, label: string): Typist {
  const t = startTyping(c, label)
  typists.push(t)
  return t
}

/** Resolves once `c` holds at least `n` tokens typed by clients whose label starts with `prefix`. */
function whenTokens (c: TestClient, prefix: string, n: number, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
  const count = (): number => c.text.toString().split(`<${prefix}`).length - 1
  return whenDoc(c.doc, () => count() >= n, `${what} (${n} tokens <${prefix}…>)`, timeoutMs)
}

/** Kill everything (-9), start Redis and one Quire again, and read the document with a fresh client. */
async function afterRestartOfEverything (doc: string): Promise<string> {
  for (const c of clients.splice(0)) c.destroy()
  await Promise.all(quires.splice(0).map((q) => q.kill('SIGKILL')))
  await redis.kill('SIGKILL')
  redis = await redis.restart()
  const q = await quire()
  const fresh = client(q, doc)
  await whenSynced(fresh, 'a fresh client to sync after everything restarted')
  return fresh.text.toString()
}

async function stopTypingAndConverge (all: TestClient[]): Promise<string> {
  const tokens: string[] = []
  for (const t of typists.splice(0)) {
    t.stop()
    tokens.push(...t.tokens)
  }
  return whenConverged(all, tokens, `every client to converge with all ${tokens.length} tokens typed`)
}

describe('chaos with real processes', () => {
  it('kill -9 of an instance mid-editing: others carry on, its presence goes within seconds, nothing seen is lost', async () => {
    const doc = 'chaos/kill-instance'
    const [a, b] = [await quire(), await quire()]
    const a1 = client(a, doc); const a2 = client(a, doc)
    const b1 = client(b, doc); const b2 = client(b, doc)
    const all = [a1, a2, b1, b2]
    await Promise.all(all.map((c, i) => whenSynced(c, `client ${i} to sync`)))
    a1.provider.awareness.setLocalStateField('user', { name: 'Ann' })
    const annId = a1.doc.clientID
    await whenAwareness(b1, (s) => s.has(annId), 'b1 (on the other instance) to see Ann')
    all.forEach((c, i) => typing(c, `k${i}`))
    await whenTokens(b1, 'k0', 10, 'b1 to get Ann\'s typing')

    // The server removes Ann (not b1's own 30 s timeout): the change comes from the provider.
    let removedAt: number | undefined
    const onChange = ({ removed }: { removed: number[] }, origin: unknown): void => {
      if (removed.includes(annId) && origin !== 'timeout') removedAt ??= performance.now()
    }
    b1.provider.awareness.on('change', onChange)
    const killedAt = performance.now()
    await a.kill('SIGKILL')
    // "Within seconds": well under the 30 s after which b1 would drop her state itself.
    await whenAwareness(b1, () => removedAt !== undefined, 'the server to remove the killed instance\'s client from b1', 10_000)
    b1.provider.awareness.off('change', onChange)
    console.log(`presence of a killed instance's client removed after ${Math.round(removedAt! - killedAt)} ms`)
    await whenTokens(b2, 'k2', 40, 'B\'s clients to go on editing together meanwhile')

    const again = await a.restart()
    quires.push(again)
    const text = await stopTypingAndConverge(all)
    expect(await afterRestartOfEverything(doc)).toBe(text)
  })

  it('Redis killed and restarted: instances keep serving live edits, answer 503, persist everything after', async () => {
    const doc = 'chaos/redis-restart'
    const [a, b] = [await quire(), await quire()]
    const a1 = client(a, doc); const a2 = client(a, doc); const b1 = client(b, doc)
    const all = [a1, a2, b1]
    await Promise.all(all.map((c, i) => whenSynced(c, `client ${i} to sync`)))
    let closes = 0
    for (const c of all) c.provider.on('connection-close', () => { closes++ })
    all.forEach((c, i) => typing(c, `r${i}`))
    await whenTokens(b1, 'r0', 10, 'b1 to get a1\'s typing')

    await redis.kill('SIGKILL')
    await Promise.all([a, b].map((q) => whenStatus(`${q.url}/readyz`, 503)))
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200)
    // Live editing goes on among one instance's clients while Redis is away.
    const before = a2.text.toString().split('<r0').length - 1
    await whenTokens(a2, 'r0', before + 10, 'a2 to go on getting a1\'s typing while Redis is away')

    redis = await redis.restart()
    await Promise.all([a, b].map((q) => whenStatus(`${q.url}/readyz`, 200)))
    const text = await stopTypingAndConverge(all)
    expect(closes).toBe(0)
    expect(await afterRestartOfEverything(doc)).toBe(text)
  })

  it('pub/sub connections killed again and again: instances catch up from the log', async () => {
    const doc = 'chaos/pubsub-kill'
    const [a, b] = [await quire(), await quire()]
    const all = [client(a, doc), client(a, doc), client(b, doc), client(b, doc)]
    await Promise.all(all.map((c, i) => whenSynced(c, `client ${i} to sync`)))
    all.forEach((c, i) => typing(c, `p${i}`))
    const admin = redis.client()
    for (let round = 0; round < 8; round++) {
      await whenTokens(all[3], 'p0', 5 * (round + 1), `round ${round}: a client on B to get more of a client on A's typing`)
      await admin.client('KILL', 'TYPE', 'pubsub')
    }
    const text = await stopTypingAndConverge(all)
    expect(await afterRestartOfEverything(doc)).toBe(text)
  })

  it('two instances compacting one document at once lose nothing', async () => {
    const doc = 'chaos/compaction'
    const [a, b] = [await quire({ LOG_LEVEL: 'debug' }), await quire({ LOG_LEVEL: 'debug' })]
    const all = [client(a, doc), client(a, doc), client(b, doc), client(b, doc)]
    await Promise.all(all.map((c, i) => whenSynced(c, `client ${i} to sync`)))
    all.forEach((c, i) => typing(c, `c${i}`))
    // Both instances count every entry (their own and the other's) and pass
    // the compaction threshold (1000 entries) at about the same moment.
    await whenTokens(all[0], 'c', 1300, 'four typists to get past the compaction threshold', 45_000)
    const text = await stopTypingAndConverge(all)
    const compacted = (q: QuireProcess): number => q.logs.filter((l) => l.includes('"log compacted"')).length
    expect(compacted(a)).toBeGreaterThan(0)
    expect(compacted(b)).toBeGreaterThan(0)
    const keys = docKeys(doc)
    const admin = redis.client()
    expect(await admin.llen(keys.log)).toBeLessThan(Number(await admin.get(keys.seq)))
    expect(await afterRestartOfEverything(doc)).toBe(text)
  })

  it('starts while Redis is unreachable, says so, and serves once it comes', async () => {
    const port = await freePort()
    const q = await startQuire({ REDIS_URL: `redis://127.0.0.1:${port}`, ...QUICK_DRAIN })
    quires.push(q)
    expect((await fetch(`${q.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${q.url}/readyz`)).status).toBe(503)
    // The first failed attempt may be logged just after the server listens.
    expect(await q.waitForLog('redis unreachable')).toContain('retrying')
    expect(await (await fetch(`${q.url}/metrics`)).text()).toMatch(/^quire_redis_up 0$/m)
    const late = await startRedis({ port })
    try {
      await whenStatus(`${q.url}/readyz`, 200)
      expect(await (await fetch(`${q.url}/metrics`)).text()).toMatch(/^quire_redis_up 1$/m)
      const c = client(q, 'chaos/late-redis')
      await whenSynced(c, 'a client to sync once Redis came')
      c.text.insert(0, 'hello')
      const d = client(q, 'chaos/late-redis')
      await whenConverged([c, d], ['hello'], 'a second client to get the first one\'s edit')
      // A graceful stop with Redis: drains, leaves the heartbeat set, exits 0.
      expect(await q.kill('SIGTERM')).toBe(0)
    } finally {
      await late.stop()
    }
  })
})
