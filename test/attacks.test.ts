/**
 * The attack suite (docs/security.md): every attack an attacker tried on
 * Quire, against real Quire processes (and two instances on a real Redis
 * where presence crosses instances). Each shows that the attacker gets the
 * documented close, that bystanders keep editing with their presence
 * intact, and that the server's memory stays bounded (VmRSS from /proc).
 * Figures are printed for docs/security.md; nothing here is a timed assertion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import * as Y from 'yjs'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { startRedis, type RedisProcess } from '../harness/redis.js'
import { connectClient, whenAwareness, whenDoc, whenSynced, type TestClient } from './helpers/clients.js'
import { openRaw, type RawSocket } from './helpers/raw-socket.js'
import { mintToken } from './helpers/tokens.js'
import { awarenessFrame, deleteSetUpdate, encodeAwareness, encodeSyncStep1, encodeUpdate } from './helpers/frames.js'
import { encodeAwarenessUpdate } from '../common/awareness.js'
import { CLOSE } from '../common/close-codes.js'
import { readMetrics } from './helpers/metrics.js'

const SECRET = 'attack-suite-secret-0123456789'

/** Resident memory of a process, in MiB. */
function rssMiB (q: QuireProcess): number {
  const status = readFileSync(`/proc/${q.proc.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024
}

const token = (sub: string, name: string, docs: { write?: string[], read?: string[] } = { write: ['*'] }): Promise<string> =>
  mintToken({ sub, name, allowedDocumentNames: docs.write ?? [], readonlyDocumentNames: docs.read ?? [] }, { secret: SECRET })

interface Bystanders { alice: TestClient, bob: TestClient }

/** Two users editing and present in `doc`: what every attack must leave intact. */
async function bystanders (q: QuireProcess, doc: string): Promise<Bystanders> {
  const alice = connectClient(q.wsUrl, doc, { token: await token('alice', 'Alice') })
  const bob = connectClient(q.wsUrl, doc, { token: await token('bob', 'Bob') })
  alice.provider.awareness.setLocalStateField('user', { name: 'Alice', color: '#f00' })
  bob.provider.awareness.setLocalStateField('user', { name: 'Bob', color: '#00f' })
  await Promise.all([whenSynced(alice, 'bystanders synced (alice)'), whenSynced(bob, 'bystanders synced (bob)')])
  await whenAwareness(bob, (s) => s.has(alice.doc.clientID), 'bob sees alice', 15_000)
  await whenAwareness(alice, (s) => s.has(bob.doc.clientID), 'alice sees bob', 15_000)
  return { alice, bob }
}

/** The bystanders still edit together, and each still sees the other as they are. */
async function stillFine ({ alice, bob }: Bystanders, marker: string): Promise<void> {
  alice.text.insert(alice.text.length, `${marker}-a `)
  bob.text.insert(bob.text.length, `${marker}-b `)
  await whenDoc(alice.doc, () => alice.text.toString().includes(`${marker}-b`), `bob's edit ${marker} reached alice`, 15_000)
  await whenDoc(bob.doc, () => bob.text.toString().includes(`${marker}-a`), `alice's edit ${marker} reached bob`, 15_000)
  const seenByBob = bob.provider.awareness.getStates().get(alice.doc.clientID) as { user?: { id?: string, name?: string } } | undefined
  expect(seenByBob?.user).toMatchObject({ id: 'alice', name: 'Alice' })
  expect((alice.provider.awareness.getLocalState() as { user: { name: string } }).user.name).toBe('Alice')
}

async function raw (q: QuireProcess, doc: string, tok: string): Promise<RawSocket> {
  return openRaw(`${q.wsUrl}/${encodeURIComponent(doc)}?token=${tok}`)
}

describe('attacks on one instance', () => {
  let q: QuireProcess
  const clients: TestClient[] = []
  beforeAll(async () => {
    q = await startQuire({ AUTH_SECRET: SECRET })
  })
  afterAll(async () => {
    for (const c of clients) c.destroy()
    await q?.kill()
  })

  it('a read-only connection cannot take, change or remove another user\'s presence, nor change what the victim\'s own Awareness holds', async () => {
    const b = await bystanders(q, 'forge')
    clients.push(b.alice, b.bob)
    const victimClock = b.alice.provider.awareness.meta.get(b.alice.doc.clientID)!.clock
    const attacker = await raw(q, 'forge', await token('mallory', 'Mallory', { read: ['forge'] }))
    // First message: its own id, plus the victim's and bob's ids with forged states at high clocks.
    attacker.send(encodeAwareness(encodeAwarenessUpdate([
      { clientId: 4242, clock: 1, json: JSON.stringify({ user: { id: 'alice', name: 'Alice' } }) },
      { clientId: b.alice.doc.clientID, clock: victimClock + 1000, json: JSON.stringify({ user: { name: 'Alice (forged)' } }) },
      { clientId: b.bob.doc.clientID, clock: 5000, json: 'null' },
    ])))
    // Later messages: removals and forged states again.
    attacker.send(awarenessFrame(b.alice.doc.clientID, victimClock + 2000, 'null'))
    attacker.send(awarenessFrame(b.bob.doc.clientID, 9000, JSON.stringify({ user: { name: 'Bob (forged)' } })))
    // The attacker's own state arrives, named by its token, whatever it wrote.
    await whenAwareness(b.bob, (s) => s.has(4242), 'the attacker\'s own state reached bob', 15_000)
    expect((b.bob.provider.awareness.getStates().get(4242) as { user: unknown }).user).toEqual({ id: 'mallory', name: 'Mallory' })
    attacker.send(awarenessFrame(4242, 2, JSON.stringify({ marker: true })))
    await whenAwareness(b.bob, (s) => (s.get(4242) as { marker?: boolean } | undefined)?.marker === true, 'the attacker\'s later messages were processed')
    await stillFine(b, 'forge')
    expect(b.alice.provider.awareness.meta.get(b.alice.doc.clientID)!.clock).toBeLessThan(victimClock + 1000)
    expect(b.bob.provider.awareness.getStates().get(b.bob.doc.clientID)).toMatchObject({ user: { name: 'Bob' } })
    attacker.ws.close()
  })

  it('an awareness bomb (20 messages of 20,000 entries) closes the attacker with 4429 and leaves memory and bystanders alone', async () => {
    const b = await bystanders(q, 'bomb')
    clients.push(b.alice, b.bob)
    const before = rssMiB(q)
    const attacker = await raw(q, 'bomb', await token('mallory', 'Mallory', { read: ['bomb'] }))
    const entries = (n: number) => Array.from({ length: 20_000 }, (_, i) => ({ clientId: 1_000_000 + n * 20_000 + i, clock: 1, json: JSON.stringify({ user: { name: `x${i}`, pad: 'y'.repeat(100) } }) }))
    for (let n = 0; n < 20 && attacker.ws.readyState === attacker.ws.OPEN; n++) attacker.send(encodeAwareness(encodeAwarenessUpdate(entries(n))))
    await attacker.whenClosed('the attacker closed', 15_000)
    // The server closed it with 4429 (with 52 MB still on its way, the
    // attacker's own side may see the socket cut, 1006, before the frame).
    const m = await readMetrics(q.url)
    expect(m.get('quire_limit_refusals_total{limit="client_ids_per_connection"}')).toBe(1)
    expect(m.get(`quire_connection_closes_total{code="${CLOSE.rateLimited}"}`)).toBe(1)
    await stillFine(b, 'bomb')
    const after = rssMiB(q)
    console.log(`awareness bomb: RSS ${before.toFixed(1)} -> ${after.toFixed(1)} MiB; bob holds ${b.bob.provider.awareness.getStates().size} awareness states`)
    // What the attacker already had in flight (about 52 MB in 20 messages)
    // is read off its socket until the close handshake ends, then freed.
    expect(after - before).toBeLessThan(96)
    expect(b.bob.provider.awareness.getStates().size).toBeLessThanOrEqual(3)
  })

  it('a flood of sync requests that each need a fresh encoding is closed by its budgets (4429 work, or 4503 backlog); bystanders keep editing', async () => {
    const doc = 'heavy'
    const seed = connectClient(q.wsUrl, doc, { token: await token('seed', 'Seed') })
    clients.push(seed)
    await whenSynced(seed, 'seeder synced', 15_000)
    // About 1 MB of text in many items (so an encoding costs real time).
    seed.doc.transact(() => { for (let i = 0; i < 2000; i++) seed.text.insert(seed.text.length, `${i} ${'lorem ipsum '.repeat(40)}\n`) })
    const b = await bystanders(q, doc)
    clients.push(b.alice, b.bob)
    await whenDoc(b.bob.doc, () => b.bob.text.length === seed.text.length, 'bob has the big document', 30_000)
    const attacker = await raw(q, doc, await token('mallory', 'Mallory', { read: [doc] }))
    let sent = 0
    const started = Date.now()
    const latencies: number[] = []
    const probe = setInterval(() => {
      const t0 = Date.now()
      const mark = `p${t0}`
      b.alice.text.insert(0, mark)
      void whenDoc(b.bob.doc, () => b.bob.text.toString().startsWith(mark), `probe ${mark} reached bob`).then(() => latencies.push(Date.now() - t0))
    }, 50)
    while (attacker.ws.readyState === attacker.ws.OPEN && Date.now() - started < 20_000) {
      // A state vector no one has: every request needs its own encoding.
      const sv = Y.encodeStateVector(new Y.Doc({ gc: false }))
      const fake = new Uint8Array([1, ...varUintBytes(100_000 + sent), ...varUintBytes(sent + 1)])
      attacker.send(encodeSyncStep1(sent % 2 === 0 ? fake : sv))
      sent++
      if (sent % 20 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    clearInterval(probe)
    // Whichever budget runs out first: the event-loop time its requests cost,
    // or the unsent answers piling up on its socket. Read from the server's
    // side (with megabytes in flight the attacker may see its socket cut, 1006).
    const closed = await attacker.whenClosed('the attacker closed by a budget', 20_000)
    const m = await readMetrics(q.url)
    const byWork = m.get('quire_limit_refusals_total{limit="work_budget"}') ?? 0
    const byBacklog = m.get('quire_limit_refusals_total{limit="backlog_connection"}') ?? 0
    expect(byWork + byBacklog).toBeGreaterThanOrEqual(1)
    await stillFine(b, 'heavy')
    latencies.sort((x, y) => x - y)
    console.log(`heavy sync flood: attacker closed (client saw ${closed.code}; server refusals: work ${byWork}, backlog ${byBacklog}) after ${sent} requests in ${Date.now() - started} ms; bystander edit latency p50 ${latencies[Math.floor(latencies.length / 2)]} ms, p99 ${latencies[Math.floor(latencies.length * 0.99)]} ms over ${latencies.length} edits`)
  })

  it('an update of alternating one-character deletes is refused with 4413 before it touches the document', async () => {
    const doc = 'deletes'
    const writer = connectClient(q.wsUrl, doc, { token: await token('seed', 'Seed') })
    clients.push(writer)
    await whenSynced(writer, 'writer synced', 15_000)
    writer.text.insert(0, 'x'.repeat(300_000))
    const b = await bystanders(q, doc)
    clients.push(b.alice, b.bob)
    await whenDoc(b.bob.doc, () => b.bob.text.length === 300_000, 'bob has the text', 30_000)
    // Every other character of the writer's one item, one delete range each
    // (an update with no structs: the delete set alone).
    const bomb = deleteSetUpdate(writer.doc.clientID, Array.from({ length: 150_000 }, (_, i) => 2 * i + 1))
    const before = rssMiB(q)
    const attacker = await raw(q, doc, await token('carol', 'Carol'))
    attacker.send(encodeUpdate(bomb))
    const closed = await attacker.whenClosed('the attacker closed', 15_000)
    expect([CLOSE.tooLarge, 1006]).toContain(closed.code)
    expect((await readMetrics(q.url)).get('quire_limit_refusals_total{limit="update_delete_ranges"}')).toBe(1)
    expect((await readMetrics(q.url)).get(`quire_connection_closes_total{code="${CLOSE.tooLarge}"}`)).toBeGreaterThanOrEqual(1)
    await stillFine(b, 'deletes')
    expect(b.bob.text.length).toBe(300_000 + 'deletes-a deletes-b '.length)
    const after = rssMiB(q)
    console.log(`delete bomb (${(bomb.length / 1e6).toFixed(2)} MB, 150,000 ranges): refused; RSS ${before.toFixed(1)} -> ${after.toFixed(1)} MiB`)
    expect(after - before).toBeLessThan(48)
  })
})

describe('presence forgery across two instances on Redis', () => {
  let redis: RedisProcess
  let a: QuireProcess
  let b: QuireProcess
  const clients: TestClient[] = []
  beforeAll(async () => {
    redis = await startRedis()
    a = await startQuire({ AUTH_SECRET: SECRET, REDIS_URL: redis.url })
    b = await startQuire({ AUTH_SECRET: SECRET, REDIS_URL: redis.url })
  })
  afterAll(async () => {
    for (const c of clients) c.destroy()
    await Promise.all([a?.kill(), b?.kill()])
    await redis?.stop()
  })

  it('a connection on another instance cannot change a state held on the first', async () => {
    const alice = connectClient(a.wsUrl, 'cross', { token: await token('alice', 'Alice') })
    const bob = connectClient(b.wsUrl, 'cross', { token: await token('bob', 'Bob') })
    clients.push(alice, bob)
    alice.provider.awareness.setLocalStateField('user', { name: 'Alice' })
    bob.provider.awareness.setLocalStateField('user', { name: 'Bob' })
    await whenAwareness(bob, (s) => s.has(alice.doc.clientID), 'bob (on B) sees alice (on A)', 20_000)
    const attacker = await raw(b, 'cross', await token('mallory', 'Mallory', { read: ['cross'] }))
    attacker.send(encodeAwareness(encodeAwarenessUpdate([
      { clientId: 4343, clock: 1, json: '{}' },
      { clientId: alice.doc.clientID, clock: 100_000, json: JSON.stringify({ user: { name: 'forged' } }) },
    ])))
    attacker.send(awarenessFrame(alice.doc.clientID, 100_001, 'null'))
    attacker.send(awarenessFrame(4343, 2, '{"done":true}'))
    await whenAwareness(alice, (s) => (s.get(4343) as { done?: boolean } | undefined)?.done === true, 'the attacker\'s messages reached A', 20_000)
    await whenAwareness(bob, (s) => (s.get(4343) as { done?: boolean } | undefined)?.done === true, 'the attacker\'s messages reached bob', 20_000)
    expect(bob.provider.awareness.getStates().get(alice.doc.clientID)).toMatchObject({ user: { id: 'alice', name: 'Alice' } })
    expect((alice.provider.awareness.getLocalState() as { user: { name: string } }).user.name).toBe('Alice')
    attacker.ws.close()
  })
})

function varUintBytes (n: number): number[] {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}
