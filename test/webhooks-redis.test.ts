/**
 * Webhooks across instances (docs/webhooks.md, "Several instances"): two
 * Quire processes on one real redis-server deliver to a receiver started
 * here. Every event is delivered once, not once per instance (counted per
 * event id); a person with tabs on both instances joins and leaves once;
 * an instance killed -9 in the middle of a delivery has that delivery sent
 * by the other, and its users leave; endpoints added through one
 * instance's admin API are used by the other.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { startRedis, startRedisCluster, type RedisProcess } from '../harness/redis.js'
import { connectClient, whenAwareness, whenSynced, type TestClient } from './helpers/clients.js'
import { mintToken, TEST_SECRET } from './helpers/tokens.js'
import { readMetrics } from './helpers/metrics.js'
import { waitFor } from './helpers/wait.js'
import { countById, startReceiver, type Receiver, type Received } from './helpers/webhook-receiver.js'

const SECRET = 'webhook-secret-for-the-tests-0123'
const API_KEY = 'api-key-for-the-tests-0123456789'
/**
 * An instance silent this long is taken over: lowered from 10 s in the tests
 * that kill or stop one, so they do not wait; raised in the others, so that a
 * loaded machine's stalls never pass for a death there.
 */
const CLAIM_AFTER_MS = 3_000
const NO_TAKEOVER = { WEBHOOK_CLAIM_AFTER_MS: '60000' }

let redis: RedisProcess
const quires: QuireProcess[] = []
const receivers: Receiver[] = []
const clients: TestClient[] = []

beforeAll(async () => { redis = await startRedis() })
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy()
  await Promise.all(quires.splice(0).map((q) => q.kill()))
  await Promise.all(receivers.splice(0).map((r) => r.close()))
  const flush = redis.client()
  await flush.flushall()
  flush.disconnect()
})
afterAll(async () => { await redis?.stop() })

async function receiver (): Promise<Receiver> {
  const r = await startReceiver(SECRET)
  receivers.push(r)
  return r
}

/** Two instances on the Redis, each with the same WEBHOOKS. */
async function pair (endpoints: Array<{ url: string, events: string[] }>, env: Record<string, string> = {}): Promise<[QuireProcess, QuireProcess]> {
  const start = (): Promise<QuireProcess> => startQuire({
    REDIS_URL: redis.url,
    AUTH_SECRET: TEST_SECRET,
    WEBHOOKS: JSON.stringify(endpoints.map((e) => ({ secret: SECRET, ...e }))),
    WEBHOOK_DEBOUNCE_MS: '300',
    WEBHOOK_MAX_WAIT_MS: '2000',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_CLAIM_AFTER_MS: String(CLAIM_AFTER_MS),
    ...env,
  })
  const both = await Promise.all([start(), start()])
  quires.push(...both)
  return both
}

async function enter (q: QuireProcess, doc: string, sub: string): Promise<TestClient> {
  const c = connectClient(q.wsUrl, doc, { token: await mintToken({ sub, name: sub.toUpperCase(), allowedDocumentNames: ['*'] }) })
  clients.push(c)
  await whenSynced(c, `${sub} to sync ${doc} on :${q.port}`)
  c.provider.awareness.setLocalStateField('user', { color: '#1971c2' })
  return c
}

function write (c: TestClient, text: string): void {
  const paragraph = new Y.XmlElement('paragraph')
  paragraph.insert(0, [new Y.XmlText(text)])
  c.doc.getXmlFragment('default').insert(0, [paragraph])
}

const users = (r: Received): string => r.json.users.map((u) => u.id).sort().join(',')
const of = (hook: Receiver, type: string): string[] => hook.delivered(type).map(users)

describe('webhooks with two instances on Redis', () => {
  it('each change and each arrival is delivered once, not once per instance', async () => {
    const hook = await receiver()
    const [a, b] = await pair([{ url: hook.url, events: ['*'] }], NO_TAKEOVER)
    const doc = 'hooks/two-instances'
    const alice = await enter(a, doc, 'alice')
    const bob = await enter(b, doc, 'bob')
    await whenAwareness(alice, (s) => s.size === 2, 'alice (on A) to see bob (on B)')
    await hook.until(() => hook.delivered('user.joined').length >= 2, 'alice\'s and bob\'s user.joined')

    write(alice, 'from A')
    await hook.until(() => of(hook, 'document.changed').includes('alice'), 'the change made through A')
    write(bob, 'from B')
    await hook.until(() => of(hook, 'document.changed').includes('bob'), 'the change made through B')

    // Alice opens a tab on B too, then closes both: one arrival, one departure.
    const aliceOnB = await enter(b, doc, 'alice')
    await whenAwareness(bob, (s) => s.size === 3, 'bob to see alice\'s second tab')
    alice.destroy()
    await whenAwareness(bob, (s) => s.size === 2, 'bob to see alice\'s first tab go')
    aliceOnB.destroy()
    await hook.until(() => of(hook, 'user.left').includes('alice'), 'alice\'s user.left once her last tab closed')

    expect(of(hook, 'user.joined').sort()).toEqual(['alice', 'bob'])
    expect(of(hook, 'document.changed')).toEqual(['alice', 'bob'])
    expect(of(hook, 'user.left')).toEqual(['alice'])
    expect([...countById(hook.received).values()].every((n) => n === 1)).toBe(true)
    expect(hook.received.every((r) => r.verified && r.answer === 200)).toBe(true)
    // Both instances delivered: the work is shared, not duplicated.
    const delivered = await Promise.all([a, b].map(async (q) => (await readMetrics(q.url)).get('quire_webhook_deliveries_total{result="delivered"}') ?? 0))
    expect(delivered[0] + delivered[1]).toBe(hook.received.length)
  })

  it('an instance killed -9 in the middle of a delivery: the other delivers it, and its users leave', async () => {
    const hook = await receiver()
    let heldOne = false
    hook.respond = (r) => {
      if (r.json.type !== 'document.changed' || heldOne) return 200
      heldOne = true
      return 'hang'
    }
    const [a, b] = await pair([{ url: hook.url, events: ['*'] }])
    const doc = 'hooks/killed'
    const alice = await enter(a, doc, 'alice')
    await enter(b, doc, 'bob')
    await hook.until(() => hook.delivered('user.joined').length >= 2, 'both users\' user.joined')
    write(alice, 'in flight when its instance dies')
    const [held] = await hook.until((all) => all.some((r) => r.answer === 'hang'), 'the document.changed delivery, held by the receiver').then((all) => all.filter((r) => r.answer === 'hang'))

    const inFlight = async (q: QuireProcess): Promise<number> => (await readMetrics(q.url)).get('quire_webhook_in_flight') ?? 0
    const [sender, survivor] = await waitFor(async () => [await inFlight(a), await inFlight(b)], ([x, y]) => x + y === 1, 'one instance to have the delivery in flight')
      .then(([x]) => x === 1 ? [a, b] : [b, a])
    const senderUser = sender === a ? 'alice' : 'bob'
    await sender.kill('SIGKILL')
    quires.splice(quires.indexOf(sender), 1)
    await hook.until(() => held.answer === 'aborted', 'the held request to end with its sender')

    await hook.until(() => hook.delivered('document.changed').length === 1, 'the same event delivered by the surviving instance')
    const [again] = hook.delivered('document.changed')
    expect(again.json.id).toBe(held.json.id)
    expect(again.body).toBe(held.body)
    expect(again.verified).toBe(true)
    await hook.until(() => of(hook, 'user.left').includes(senderUser), `${senderUser} (on the dead instance) to leave`)
    expect(of(hook, 'user.left')).toEqual([senderUser])
    const m = await waitFor(() => readMetrics(survivor.url), (m) => m.get('quire_webhook_queued') === 0, 'the queue to be empty')
    expect(m.get('quire_webhook_deliveries_total{result="delivered"}')).toBeGreaterThanOrEqual(1)
    // Twice on the wire (one aborted by the kill), acknowledged once.
    expect(countById(hook.received).get(held.json.id)).toBe(2)
    expect(hook.delivered().filter((r) => r.json.id === held.json.id)).toHaveLength(1)
  })

  it('an instance stalled past WEBHOOK_CLAIM_AFTER_MS: its users leave; when it wakes up it announces them again', async () => {
    const hook = await receiver()
    const [a, b] = await pair([{ url: hook.url, events: ['user.joined', 'user.left'] }])
    const doc = 'hooks/stalled'
    await enter(a, doc, 'alice')
    await enter(b, doc, 'bob')
    await hook.until(() => hook.delivered('user.joined').length === 2, 'both users\' user.joined')
    // Acknowledged too (else A, stopped between the answer and its acknowledgement, would have them sent again: at least once).
    await waitFor(() => readMetrics(b.url), (m) => m.get('quire_webhook_queued') === 0, 'both deliveries to be acknowledged')
    a.proc.kill('SIGSTOP')
    try {
      await hook.until(() => of(hook, 'user.left').includes('alice'), 'alice to leave once A is silent', CLAIM_AFTER_MS + 10_000)
    } finally {
      a.proc.kill('SIGCONT')
    }
    await hook.until(() => of(hook, 'user.joined').filter((u) => u === 'alice').length === 2, 'alice to join again once A is back')
    expect(of(hook, 'user.left')).toEqual(['alice'])
    expect(of(hook, 'user.joined').sort()).toEqual(['alice', 'alice', 'bob'])
  })

  it('WEBHOOK_MAX_QUEUED holds over all instances: past it an event is dropped for the endpoints without room, and counted', async () => {
    const hook = await receiver()
    hook.respond = () => 'hang'
    const [a, b] = await pair([{ url: hook.url, events: ['user.joined'] }], { ...NO_TAKEOVER, WEBHOOK_MAX_QUEUED: '2', WEBHOOK_TIMEOUT_MS: '60000' })
    await enter(a, 'hooks/full', 'alice')
    await enter(b, 'hooks/full', 'bob')
    await hook.until((all) => all.length === 2, 'two deliveries held by the receiver (the queue is full)')
    await enter(a, 'hooks/full', 'carol')
    const m = await waitFor(() => readMetrics(a.url), (m) => m.get('quire_webhook_failures_total{reason="queue_full"}') === 1, 'carol\'s user.joined to be dropped')
    expect(m.get('quire_webhook_queued')).toBe(2)
    hook.release()
    await waitFor(() => readMetrics(b.url), (m) => m.get('quire_webhook_queued') === 0, 'the queue to drain once the receiver answers')
    expect(hook.received.map(users).sort()).toEqual(['alice', 'bob'])
  })

  it('an endpoint added through one instance\'s admin API is used by the other, and removed for both', async () => {
    const [configured, added] = [await receiver(), await receiver()]
    const [a, b] = await pair([{ url: configured.url, events: ['user.joined'] }], { ...NO_TAKEOVER, API_KEY, WEBHOOKS_ALLOW_PRIVATE: '1' })
    const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }
    const res = await fetch(`${a.url}/api/admin/webhooks`, { method: 'POST', headers: auth, body: JSON.stringify({ url: added.url, events: ['user.joined'], secret: SECRET }) })
    expect(res.status).toBe(201)
    const { webhook } = await res.json() as { webhook: { id: string } }
    const listed = await (await fetch(`${b.url}/api/admin/webhooks`, { headers: auth })).json() as { webhooks: Array<{ id: string }> }
    expect(listed.webhooks.map((w) => w.id)).toContain(webhook.id)

    await enter(b, 'hooks/admin-across', 'carol')
    await added.until(() => added.delivered().length === 1, 'carol\'s user.joined (emitted on B) at the endpoint added on A')
    expect(users(added.delivered()[0])).toBe('carol')

    expect((await fetch(`${b.url}/api/admin/webhooks/${webhook.id}`, { method: 'DELETE', headers: auth })).status).toBe(204)
    const after = await (await fetch(`${a.url}/api/admin/webhooks`, { headers: auth })).json() as { webhooks: Array<{ id: string }> }
    expect(after.webhooks.map((w) => w.id)).not.toContain(webhook.id)
    await enter(a, 'hooks/admin-across', 'dave')
    await configured.until(() => configured.delivered().some((r) => users(r) === 'dave'), 'dave\'s user.joined at the configured endpoint')
    expect(added.delivered()).toHaveLength(1)
    expect(configured.received.every((r) => r.verified)).toBe(true)
  })
})

describe('webhooks on a Redis Cluster', () => {
  it('the same: one delivery per event, presence counted across instances (every key in one slot)', async () => {
    const cluster = await startRedisCluster()
    try {
      const hook = await receiver()
      const start = (): Promise<QuireProcess> => startQuire({
        REDIS_CLUSTER_NODES: cluster.seeds,
        AUTH_SECRET: TEST_SECRET,
        API_KEY,
        WEBHOOKS: JSON.stringify([{ url: hook.url, events: ['*'], secret: SECRET }]),
        WEBHOOK_DEBOUNCE_MS: '300',
        ...NO_TAKEOVER,
      })
      const [a, b] = await Promise.all([start(), start()])
      quires.push(a, b)
      const doc = 'hooks/cluster'
      const alice = await enter(a, doc, 'alice')
      const aliceOnB = await enter(b, doc, 'alice')
      await hook.until(() => hook.delivered('user.joined').length >= 1, 'alice\'s user.joined')
      write(alice, 'on a cluster')
      await hook.until(() => hook.delivered('document.changed').length >= 1, 'the change')
      alice.destroy()
      aliceOnB.destroy()
      await hook.until(() => hook.delivered('user.left').length >= 1, 'alice\'s user.left')
      expect(of(hook, 'user.joined')).toEqual(['alice'])
      expect(of(hook, 'document.changed')).toEqual(['alice'])
      expect(of(hook, 'user.left')).toEqual(['alice'])
      expect([...countById(hook.received).values()].every((n) => n === 1)).toBe(true)
      const listed = await fetch(`${b.url}/api/admin/webhooks`, { headers: { authorization: `Bearer ${API_KEY}` } })
      expect(listed.status).toBe(200)
    } finally {
      for (const q of quires.splice(0)) await q.kill()
      await cluster.stop()
    }
  })
})
