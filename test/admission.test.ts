/**
 * Connection budgets (docs/configuration.md, "Limits"): what one client, one
 * address or one user can make the server hold is bounded, the refusal is a
 * clear close code (or HTTP status before any WebSocket exists) counted in
 * quire_limit_refusals_total, and everybody else keeps working. Attacks run
 * against a real Quire process, whose memory and open sockets are read
 * from /proc.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { connect, type Socket } from 'node:net'
import type { IncomingMessage } from 'node:http'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { CLOSE, UNAVAILABLE_REASONS, reasonWithoutRetryAfter, retryAfterOf } from '../common/close-codes.js'
import { loadConfig } from '../server/config.js'
import { clientAddressOf } from '../server/transport/client-address.js'
import { parseTrustProxy } from '../server/addresses.js'
import { fleet } from './helpers/fleet.js'
import type { QuireProcess } from '../harness/quire.js'
import { connectClient, whenDoc, whenSynced, type TestClient } from './helpers/clients.js'
import { openRaw, type RawSocket } from './helpers/raw-socket.js'
import { openTcpWebSocket } from './helpers/raw-tcp.js'
import { encodeSyncStep1, encodeUpdate, isType, readServerFrame, textUpdate } from './helpers/frames.js'
import { readMetrics } from './helpers/metrics.js'
import { mintToken, TEST_SECRET } from './helpers/tokens.js'
import { MiB, openFds, rssBytes, watchRss } from './helpers/proc.js'
import { sleep, waitFor, within } from './helpers/wait.js'
import { GatedStore, gate } from './helpers/gated-store.js'
import { startInProcess } from './helpers/in-process.js'

const { start, client, stop, stopAll } = fleet()
const clients: TestClient[] = []
afterAll(async () => {
  for (const c of clients) c.destroy()
  await stopAll()
})

const EMPTY_STATE_VECTOR = new Uint8Array([0])
const HALF_MIB_TEXT = 'x'.repeat(512 * 1024)

function stock (q: QuireProcess, doc: string, opts: Parameters<typeof connectClient>[2] = {}): TestClient {
  const c = connectClient(q.wsUrl, doc, opts)
  clients.push(c)
  return c
}

async function metric (q: QuireProcess, name: string): Promise<number> {
  return (await readMetrics(q.url)).get(name) ?? 0
}
const refusals = (q: QuireProcess, limit: string): Promise<number> => metric(q, `quire_limit_refusals_total{limit="${limit}"}`)

/** Admitted: the server's sync step 1 arrives (a refused socket gets only a close). */
async function admitted (url: string, headers: Record<string, string> = {}, localAddress?: string): Promise<RawSocket> {
  const s = await openRaw(url, headers, localAddress ? { localAddress } : {})
  await Promise.race([s.next(isType('sync-step1'), `admission of ${url}`, 10_000), s.whenClosed(`admission of ${url}`, 10_000).then((c) => { throw new Error(`refused: ${c.code} ${c.reason}`) })])
  return s
}

async function refused (url: string, headers: Record<string, string> = {}, localAddress?: string): Promise<{ code: number, reason: string }> {
  const s = await openRaw(url, headers, localAddress ? { localAddress } : {})
  return s.whenClosed(`the refusal of ${url}`, 10_000)
}

/** Two stock clients editing one document: they still see each other's edits. */
async function stillEditing (a: TestClient, b: TestClient, text: string): Promise<void> {
  a.text.insert(0, text)
  await whenDoc(b.doc, () => b.text.toString().includes(text), `"${text}" to reach the other bystander`, 15_000)
}

/** Send `count` updates of `text` through `writer` (connected with ?ack=1), each once it is durable and relayed. */
async function sendUpdates (writer: RawSocket, count: number, text: string, stopWhen: () => Promise<boolean> = async () => false): Promise<number> {
  let acked = writer.frames.filter(isType('ack')).length
  for (let i = 0; i < count; i++) {
    if (await stopWhen()) return i
    writer.send(encodeUpdate(textUpdate(text)))
    const want = ++acked
    await writer.next((f) => { const m = readServerFrame(f); return m.type === 'ack' && m.count === want }, `acknowledgement ${want}`, 15_000)
  }
  return count
}

/** Resolves when the TCP socket is closed (by either side). */
function tcpClosed (socket: Socket): Promise<number> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve(Date.now())
    else socket.once('close', () => resolve(Date.now()))
  })
}

describe('the pace of new connections (MAX_NEW_CONNECTIONS_…)', () => {
  const parse = (close: { code: number, reason: string }): { code: number, reason: string, hint: number | null } =>
    ({ code: close.code, reason: reasonWithoutRetryAfter(close.reason), hint: retryAfterOf(close.reason) })

  it('one address over its rate gets 4503 with its turn to come back, spending nothing of the instance\'s; others are admitted; back at its turn it is', async () => {
    const q = await start({ MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND: '2', MAX_NEW_CONNECTIONS_PER_IP_BURST: '3', MAX_NEW_CONNECTIONS_PER_SECOND: '1', MAX_NEW_CONNECTIONS_BURST: '6' })
    const url = `${q.wsUrl}/admission/pace`
    const held = await Promise.all([1, 2, 3].map(() => admitted(url, {}, '127.0.0.20')))
    const late = [parse(await refused(url, {}, '127.0.0.20')), parse(await refused(url, {}, '127.0.0.20'))]
    for (const r of late) expect(r).toMatchObject({ code: CLOSE.unavailable, reason: UNAVAILABLE_REASONS.addressBusy })
    // Turns one sustained interval (500 ms) apart, the first within one.
    expect(late[0].hint).toBeGreaterThan(0)
    expect(late[0].hint).toBeLessThanOrEqual(500)
    // (less the time between the two refusals, which a loaded machine stretches)
    expect(late[1].hint! - late[0].hint!).toBeGreaterThanOrEqual(250)
    // The instance's budget (6 at once) still has room for three others.
    const a = stock(q, 'admission/pace', { localAddress: '127.0.0.21' })
    const b = stock(q, 'admission/pace', { localAddress: '127.0.0.22' })
    await Promise.all([whenSynced(a, 'a client on another address to sync (a)', 10_000), whenSynced(b, 'a client on another address to sync (b)', 10_000)])
    await stillEditing(a, b, 'paced addresses do not slow others')
    expect(await refusals(q, 'new_connections_per_ip')).toBe(2)
    expect(await refusals(q, 'new_connections')).toBe(0)
    // A client that honours its hint (here: waits exactly that long, as the server asked) is admitted.
    await sleep(late[0].hint!)
    held.push(await admitted(url, {}, '127.0.0.20'))
    for (const s of held) s.ws.close()
  })

  it('the instance over its rate: 4503 "instance busy" with a hint, counted; the admitted keep editing', async () => {
    const q = await start({ MAX_NEW_CONNECTIONS_PER_SECOND: '1', MAX_NEW_CONNECTIONS_BURST: '2' })
    const a = stock(q, 'admission/busy', { localAddress: '127.0.0.23' })
    const b = stock(q, 'admission/busy', { localAddress: '127.0.0.24' })
    await Promise.all([whenSynced(a, 'the first client to sync', 10_000), whenSynced(b, 'the second client to sync', 10_000)])
    const busy = parse(await refused(`${q.wsUrl}/admission/busy`, {}, '127.0.0.25'))
    expect(busy).toMatchObject({ code: CLOSE.unavailable, reason: UNAVAILABLE_REASONS.busy })
    expect(busy.hint).toBeGreaterThan(0)
    expect(busy.hint).toBeLessThanOrEqual(1000)
    await stillEditing(a, b, 'a busy instance still serves its clients')
    expect(await refusals(q, 'new_connections')).toBe(1)
    expect(await metric(q, `quire_connection_closes_total{code="${CLOSE.unavailable}"}`)).toBe(1)
    expect(await metric(q, 'quire_connections_accepted_total')).toBe(2)
  })
})

describe('connections per client address (MAX_CONNECTIONS_PER_IP)', () => {
  it('the next socket from that address gets 4429; other addresses, and the same one once a socket closes, are admitted', async () => {
    const q = await start({ MAX_CONNECTIONS_PER_IP: '3' })
    const url = `${q.wsUrl}/admission/ip`
    const held = await Promise.all([1, 2, 3].map(() => admitted(url, {}, '127.0.0.2')))
    expect(await refused(url, {}, '127.0.0.2')).toEqual({ code: CLOSE.rateLimited, reason: 'too many connections from this address' })

    // Other addresses are not affected: two stock clients sync and edit.
    const a = stock(q, 'admission/ip', { localAddress: '127.0.0.3' })
    const b = stock(q, 'admission/ip', { localAddress: '127.0.0.4' })
    await Promise.all([whenSynced(a, 'clients on other addresses to sync (a)', 10_000), whenSynced(b, 'clients on other addresses to sync (b)', 10_000)])
    await stillEditing(a, b, 'other addresses are welcome')

    // A socket that closes frees its place (the refused one never took one).
    held[0].ws.close()
    await waitFor(() => metric(q, 'quire_connections'), (n) => n === 4, 'the closed socket to be gone')
    held.push(await admitted(url, {}, '127.0.0.2'))
    expect(await refused(url, {}, '127.0.0.2')).toMatchObject({ code: CLOSE.rateLimited })
    expect(await refusals(q, 'connections_per_ip')).toBe(2)
    expect(await metric(q, `quire_connection_closes_total{code="${CLOSE.rateLimited}"}`)).toBe(2)
    for (const s of held) s.ws.close()
  })

  it('TRUST_PROXY=1: the address the proxy put last in X-Forwarded-For is counted, not what the client wrote before it; unset, the header is ignored', async () => {
    const q = await start({ MAX_CONNECTIONS_PER_IP: '1', TRUST_PROXY: '1' })
    const url = `${q.wsUrl}/admission/proxy`
    const xff = (value: string): Record<string, string> => ({ 'X-Forwarded-For': value })
    const first = await admitted(url, xff('203.0.113.5'))
    // The client wrote an address of its own; the proxy appended the real one.
    expect(await refused(url, xff('198.51.100.1, 203.0.113.5'))).toMatchObject({ code: CLOSE.rateLimited })
    const other = await admitted(url, xff('198.51.100.1, 203.0.113.6'))
    const proxyItself = await admitted(url)

    const plain = await start({ MAX_CONNECTIONS_PER_IP: '1' })
    const plainUrl = `${plain.wsUrl}/admission/proxy`
    const only = await admitted(plainUrl, xff('203.0.113.5'))
    expect(await refused(plainUrl, xff('203.0.113.6'))).toMatchObject({ code: CLOSE.rateLimited })
    for (const s of [first, other, proxyItself, only]) s.ws.close()
  })

  it('the counted address: trusted proxies skipped from the right, IPv4-mapped addresses unwrapped, IPv6 counted per /64', () => {
    const req = (remoteAddress: string, forwarded?: string): IncomingMessage =>
      ({ socket: { remoteAddress }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as unknown as IncomingMessage
    const none = clientAddressOf(undefined)
    expect(none(req('::ffff:192.0.2.7', '203.0.113.5'))).toBe('192.0.2.7')
    expect(none(req('2001:db8:1:2:aaaa::1'))).toBe(none(req('2001:db8:1:2:ffff:ffff:ffff:ffff')))
    expect(none(req('2001:db8:1:2::1'))).toBe('2001:db8:1:2::/64')
    expect(none(req('2001:db8:1:3::1'))).not.toBe(none(req('2001:db8:1:2::1')))

    const twoHops = clientAddressOf(parseTrustProxy('2')!)
    expect(twoHops(req('10.0.0.1', '198.51.100.1, 203.0.113.5, 10.0.0.2'))).toBe('203.0.113.5')
    expect(twoHops(req('10.0.0.1', '10.0.0.2'))).toBe('10.0.0.2')
    expect(twoHops(req('10.0.0.1'))).toBe('10.0.0.1')

    const listed = clientAddressOf(parseTrustProxy('10.0.0.0/8, 192.0.2.1')!)
    expect(listed(req('10.1.2.3', '198.51.100.1, 203.0.113.5, 192.0.2.1'))).toBe('203.0.113.5')
    // A peer that is not a trusted proxy is the client, whatever it says.
    expect(listed(req('203.0.113.9', '198.51.100.1'))).toBe('203.0.113.9')
    // Garbage where the client should be: the proxy that passed it on is counted.
    expect(listed(req('10.1.2.3', 'not-an-address'))).toBe('10.1.2.3')
    expect(listed(req('10.1.2.3', '[2001:db8::5]:443'))).toBe('2001:db8:0:0::/64')

    for (const bad of ['yes', '-1', '33', '10.0.0.0/33', '10.0.0.1,', 'example.com']) expect(parseTrustProxy(bad), bad).toBeNull()
  })
})

describe('connections per user (MAX_CONNECTIONS_PER_USER)', () => {
  it('counted by the token\'s sub across documents: 4429 beyond it, other users unaffected; not applied in open mode', async () => {
    const q = await start({ AUTH_SECRET: TEST_SECRET, MAX_CONNECTIONS_PER_USER: '2' })
    const alice = await mintToken({ sub: 'alice', allowedDocumentNames: ['*'] })
    const bob = await mintToken({ sub: 'bob', allowedDocumentNames: ['*'] })
    const url = (doc: string, token: string): string => `${q.wsUrl}/admission/${doc}?token=${token}`
    const held = [await admitted(url('one', alice)), await admitted(url('two', alice))]
    expect(await refused(url('three', alice))).toEqual({ code: CLOSE.rateLimited, reason: 'too many connections for this user' })
    held.push(await admitted(url('one', bob)))
    held[0].ws.close()
    await waitFor(() => metric(q, 'quire_connections'), (n) => n === 2, 'alice\'s closed connection to be gone')
    held.push(await admitted(url('three', alice)))
    expect(await refusals(q, 'connections_per_user')).toBe(1)

    // Open mode: everyone is "anonymous", so only the per-address budget applies.
    const open = await start({ MAX_CONNECTIONS_PER_USER: '1' })
    for (let i = 0; i < 3; i++) held.push(await admitted(`${open.wsUrl}/admission/open`))
    expect(await refusals(open, 'connections_per_user')).toBe(0)
    for (const s of held) s.ws.close()
  })
})

describe('sockets that are not connections yet', () => {
  it('a flood of refused upgrades that never answer the close: at most MAX_PENDING_UPGRADES held, the rest get HTTP 503, all freed within about a second; bystanders keep editing', async () => {
    const q = await start({ AUTH_SECRET: TEST_SECRET, MAX_PENDING_UPGRADES: '20', KEEPALIVE_MS: '1000' })
    const pid = q.proc.pid!
    const token = await mintToken({ sub: 'bystander', allowedDocumentNames: ['*'] })
    const a = stock(q, 'admission/flood', { token })
    const b = stock(q, 'admission/flood', { token })
    await Promise.all([whenSynced(a, 'bystanders to sync (a)', 10_000), whenSynced(b, 'bystanders to sync (b)', 10_000)])
    const fdsBefore = openFds(pid)
    const rssBefore = rssBytes(pid)
    const rss = watchRss(pid)
    let pendingPeak = 0
    let watching = true
    const pendingWatch = (async () => {
      while (watching) {
        pendingPeak = Math.max(pendingPeak, await metric(q, 'quire_pending_upgrades'))
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    })()

    const FLOOD = 300
    const flood = await within(Promise.all(Array.from({ length: FLOOD }, async () => {
      const t = await openTcpWebSocket(q.port, '/admission/flood?token=forged')
      return { t, answeredAt: Date.now(), closedAt: tcpClosed(t.socket) }
    })), 30_000, 'every flood socket to be answered')
    const handshaken = flood.filter(({ t }) => t.status === 101)
    const turnedAway = flood.filter(({ t }) => t.status === 503)
    expect(handshaken.length + turnedAway.length).toBe(FLOOD)
    expect(handshaken.length).toBeGreaterThan(0)
    expect(turnedAway.length).toBeGreaterThan(0)
    // The refused ones are told why, then cut off although they never answer the closing handshake.
    for (const { t } of handshaken) expect(await t.whenClosed('a close frame', 5_000)).toEqual({ code: CLOSE.unauthorized, reason: 'invalid token' })
    const lingered = await within(Promise.all(flood.map(async ({ answeredAt, closedAt }) => (await closedAt) - answeredAt)), 15_000, 'the server to close every flood socket')
    // ws alone would wait 30 s for each refused one.
    expect(Math.max(...lingered)).toBeLessThan(5_000)
    watching = false
    await pendingWatch

    expect(pendingPeak).toBeLessThanOrEqual(20)
    expect(await refusals(q, 'pending_upgrades')).toBe(turnedAway.length)
    await waitFor(() => metric(q, 'quire_pending_upgrades'), (n) => n === 0, 'no pending upgrade left')
    await waitFor(() => openFds(pid), (n) => n <= fdsBefore, 'the server\'s open files back to what they were before the flood')
    const rssGrowth = rss.stop() - rssBefore
    // Measured: about 15 MiB.
    expect(rssGrowth).toBeLessThan(64 * MiB)
    console.log(`pending-upgrade flood: ${handshaken.length} refused with 4401, ${turnedAway.length} turned away with 503, longest-held socket ${Math.max(...lingered)} ms, RSS grew ${(rssGrowth / MiB).toFixed(1)} MiB`)

    await stillEditing(a, b, 'after the flood')
    const late = stock(q, 'admission/flood', { token })
    await whenSynced(late, 'a new client to sync after the flood', 10_000)
    expect(late.text.toString()).toContain('after the flood')
  })

  it('sockets that never finish a request head (silent, unfinished, trickling) are closed after HEADERS_TIMEOUT_MS; bystanders keep editing', async () => {
    const q = await start({ HEADERS_TIMEOUT_MS: '1000', KEEPALIVE_MS: '1000' })
    const pid = q.proc.pid!
    const a = client(q, 'admission/slowloris')
    const b = client(q, 'admission/slowloris')
    await Promise.all([whenSynced(a, 'bystanders to sync (a)', 10_000), whenSynced(b, 'bystanders to sync (b)', 10_000)])
    const fdsBefore = openFds(pid)
    const open = (first?: string): Promise<{ socket: Socket, received: Buffer[], openedAt: number }> => new Promise((resolve, reject) => {
      const socket = connect(q.port, '127.0.0.1')
      const received: Buffer[] = []
      socket.on('data', (d: Buffer) => received.push(d))
      socket.on('error', () => {})
      socket.once('connect', () => {
        if (first !== undefined) socket.write(first)
        resolve({ socket, received, openedAt: Date.now() })
      })
      socket.once('error', reject)
    })
    const head = 'GET /admission/slowloris HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
    const silent = await Promise.all(Array.from({ length: 20 }, () => open()))
    const unfinished = await Promise.all(Array.from({ length: 20 }, () => open(head)))
    const trickling = await Promise.all(Array.from({ length: 5 }, () => open('GET /admission/slowloris HTTP/1.1\r\n')))
    // One header line every 200 ms: the socket is never idle, only its head is never done.
    const drip = setInterval(() => { for (const t of trickling) if (!t.socket.destroyed) t.socket.write('X-Drip: 1\r\n') }, 200)
    const all = [...silent, ...unfinished, ...trickling]
    await waitFor(() => openFds(pid), (n) => n >= fdsBefore + all.length, 'the server to accept every socket')

    const lifetimes = await within(Promise.all(all.map(async (t) => (await tcpClosed(t.socket)) - t.openedAt)), 10_000, 'the server to close every unfinished socket')
    clearInterval(drip)
    // The deadline is 1 s, checked every second at most.
    expect(Math.max(...lifetimes)).toBeLessThan(4_000)
    for (const t of trickling) expect(Buffer.concat(t.received).toString()).toMatch(/^HTTP\/1\.1 408 /)
    expect(await refusals(q, 'request_headers')).toBe(all.length)
    await waitFor(() => openFds(pid), (n) => n <= fdsBefore, 'the server\'s open files back to what they were')
    await stillEditing(a, b, 'slowloris is gone')
  })
})

describe('send backlog', () => {
  it('MAX_SEND_BACKLOG_BYTES: a reader that stops reading is closed with 4503 once over it; the writer and a bystander pair keep editing; memory stays bounded', async () => {
    const q = await start({ MAX_MESSAGE_BYTES: String(MiB), MAX_SEND_BACKLOG_BYTES: String(2 * MiB), KEEPALIVE_MS: '1000' })
    const pid = q.proc.pid!
    const a = client(q, 'admission/slow')
    const b = client(q, 'admission/slow')
    await Promise.all([whenSynced(a, 'bystanders to sync (a)', 10_000), whenSynced(b, 'bystanders to sync (b)', 10_000)])
    const reader = await admitted(`${q.wsUrl}/admission/slow`)
    reader.send(encodeSyncStep1(EMPTY_STATE_VECTOR))
    await reader.next(isType('sync-step2'), 'the reader\'s sync step 2')
    const writer = await admitted(`${q.wsUrl}/admission/slow?ack=1`)
    const rssBefore = rssBytes(pid)
    const rss = watchRss(pid)
    reader.ws.pause()

    // Half a MiB at a time; the kernel's socket buffers take a few MiB before anything waits in the server.
    const sent = await sendUpdates(writer, 60, HALF_MIB_TEXT, async () => (await refusals(q, 'backlog_connection')) > 0)
    expect(sent).toBeLessThan(60)
    expect(await refusals(q, 'backlog_connection')).toBe(1)
    expect(await metric(q, `quire_connection_closes_total{code="${CLOSE.unavailable}"}`)).toBe(1)
    // Its socket is gone: once it reads again it finds the end (the close frame sat behind what it never read).
    reader.ws.resume()
    await reader.whenClosed('the slow reader to find its connection closed', 10_000)
    await waitFor(() => metric(q, 'quire_connections'), (n) => n === 3, 'the slow reader to be gone')

    await stillEditing(a, b, 'the slow one is gone')
    const rssGrowth = rss.stop() - rssBefore
    // The document itself grows by what was sent (about 6 MiB, held in the Y.Doc and the store's
    // memtable); the slow reader adds at most its budget (2 MiB) and one message. Measured: about 60 MiB.
    expect(rssGrowth).toBeLessThan(128 * MiB)
    console.log(`slow reader: closed after ${sent} half-MiB updates; RSS grew ${(rssGrowth / MiB).toFixed(1)} MiB`)
    writer.ws.close()
  })

  it('the answer to a fresh client\'s first sync step 1 is allowed on top of the budget: a document far bigger than it opens over a slow link', async () => {
    const env = { MAX_MESSAGE_BYTES: String(MiB), MAX_SEND_BACKLOG_BYTES: String(MiB), KEEPALIVE_MS: '1000' }
    const seeding = await start(env)
    const seeder = await admitted(`${seeding.wsUrl}/admission/big?ack=1`)
    await sendUpdates(seeder, 16, HALF_MIB_TEXT)
    await stop(seeding)
    // Restarted: the document loads cold and is answered from its stored entries, several frames.
    const q = await start(seeding.env)
    const fresh = await openRaw(`${q.wsUrl}/admission/big`)
    fresh.send(encodeSyncStep1(EMPTY_STATE_VECTOR))
    fresh.ws.pause()
    // The document moves on while the fresh client is still reading it (the edit builds the document:
    // the server's own sync step 1 waits for that, so the writer does not wait for it).
    const writer = await openRaw(`${q.wsUrl}/admission/big?ack=1`)
    await sendUpdates(writer, 1, 'one more edit')
    expect(await refusals(q, 'backlog_connection')).toBe(0)
    fresh.ws.resume()
    const doc = new Y.Doc()
    await fresh.next((f) => {
      const m = readServerFrame(f)
      if (m.type === 'sync-step2' || m.type === 'update') Y.applyUpdate(doc, m.payload)
      return doc.getText('t').toString().includes('one more edit')
    }, 'the fresh client to receive the whole document and the later edit', 20_000)
    // (frames that arrived before `next` was called are matched against first, in order)
    expect(doc.getText('t').length).toBe(16 * HALF_MIB_TEXT.length + 'one more edit'.length)
    expect(await refusals(q, 'backlog_connection')).toBe(0)
    for (const s of [fresh, writer, seeder]) s.ws.close()
  })

  it('MAX_INSTANCE_BACKLOG_BYTES: when all backlogs together pass it, the largest is closed first and the others stay', async () => {
    const q = await start({
      MAX_MESSAGE_BYTES: String(MiB),
      MAX_SEND_BACKLOG_BYTES: String(64 * MiB),
      MAX_INSTANCE_BACKLOG_BYTES: String(8 * MiB),
      KEEPALIVE_MS: '200',
    })
    const url = `${q.wsUrl}/admission/instance`
    const synced = async (): Promise<RawSocket> => {
      const s = await admitted(url)
      s.send(encodeSyncStep1(EMPTY_STATE_VECTOR))
      await s.next(isType('sync-step2'), 'a sync step 2')
      return s
    }
    const big = await synced()
    const small = await synced()
    const writer = await admitted(`${url}?ack=1`)
    const updates = (s: RawSocket): number => s.frames.filter(isType('update')).length

    // `big` stops reading first and falls 6 MiB further behind than `small`.
    big.ws.pause()
    await sendUpdates(writer, 12, HALF_MIB_TEXT)
    await small.until(() => updates(small) >= 12, 'the small reader to read the first 6 MiB', 10_000)
    small.ws.pause()
    // 8 MiB more: `small` at most 8 MiB behind (within the budget alone), both together well over it.
    await sendUpdates(writer, 16, HALF_MIB_TEXT)
    await waitFor(() => refusals(q, 'backlog_instance'), (n) => n > 0, 'the instance budget to close someone')
    expect(await refusals(q, 'backlog_instance')).toBe(1)
    big.ws.resume()
    await big.whenClosed('the largest backlog to be closed', 10_000)

    // The other one is still connected: it reads everything, then a new edit.
    small.ws.resume()
    await small.until(() => updates(small) >= 28, 'the small reader to catch up', 10_000)
    await sendUpdates(writer, 1, 'still connected')
    await small.until(() => updates(small) >= 29, 'the small reader to get a new edit', 10_000)
    await waitFor(() => metric(q, 'quire_send_backlog_bytes'), (n) => n === 0, 'the instance backlog to drain')
    expect(await refusals(q, 'backlog_instance')).toBe(1)
    for (const s of [small, writer]) s.ws.close()
  })

  it('MAX_INSTANCE_BACKLOG_BYTES: a crowd joining a big document at once shares one answer, counted once: nobody is closed', async () => {
    const q = await start({
      MAX_MESSAGE_BYTES: String(MiB),
      // Each answer alone is well within a connection's budget (as a 5 MiB document is within the default 16 MiB).
      MAX_SEND_BACKLOG_BYTES: String(64 * MiB),
      MAX_INSTANCE_BACKLOG_BYTES: String(16 * MiB),
      KEEPALIVE_MS: '200',
    })
    const url = `${q.wsUrl}/admission/crowd`
    const seeder = await admitted(`${url}?ack=1`)
    await sendUpdates(seeder, 16, HALF_MIB_TEXT)
    // 12 fresh clients ask for the whole document (8 MiB, one shared frame) and do not read it yet:
    // 96 MiB if each counted its own copy, 8 MiB held.
    const crowd = await Promise.all(Array.from({ length: 12 }, () => admitted(url)))
    for (const s of crowd) {
      s.ws.pause()
      s.send(encodeSyncStep1(EMPTY_STATE_VECTOR))
    }
    await waitFor(() => metric(q, 'quire_send_backlog_bytes'), (n) => n > 4 * MiB, 'the housekeeping tick to see the answers queued')
    expect(await metric(q, 'quire_send_backlog_bytes')).toBeLessThan(16 * MiB)
    expect(await refusals(q, 'backlog_instance')).toBe(0)
    // Still queued at the next tick (the crowd has not read), still counted once.
    await sleep(3000)
    expect(await refusals(q, 'backlog_instance')).toBe(0)
    for (const s of crowd) s.ws.resume()
    await Promise.all(crowd.map((s) => s.next(isType('sync-step2'), 'the whole document', 15_000)))
    expect(await refusals(q, 'backlog_instance')).toBe(0)
    for (const s of [seeder, ...crowd]) s.ws.close()
  })

  it('paused readers asking for the whole document again and again: each is closed at its budget and memory stays bounded', async () => {
    const q = await start({
      MAX_MESSAGE_BYTES: String(MiB),
      MAX_SEND_BACKLOG_BYTES: String(2 * MiB),
      MAX_INSTANCE_BACKLOG_BYTES: String(16 * MiB),
      KEEPALIVE_MS: '200',
    })
    const pid = q.proc.pid!
    const seeder = await admitted(`${q.wsUrl}/admission/hoard?ack=1`)
    await sendUpdates(seeder, 4, HALF_MIB_TEXT)
    const a = client(q, 'admission/hoard')
    const b = client(q, 'admission/hoard')
    await Promise.all([whenSynced(a, 'bystanders to sync (a)', 10_000), whenSynced(b, 'bystanders to sync (b)', 10_000)])
    // A state vector naming a client the document never saw: the answer is the whole document (2 MiB), encoded anew each time.
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, 424242)
    encoding.writeVarUint(e, 0)
    const askForEverything = encodeSyncStep1(encoding.toUint8Array(e))
    const ATTACKERS = 10
    const REQUESTS = 40
    const rssBefore = rssBytes(pid)
    const rss = watchRss(pid)
    const attackers = await Promise.all(Array.from({ length: ATTACKERS }, () => admitted(`${q.wsUrl}/admission/hoard`)))
    for (const s of attackers) {
      s.ws.pause()
      for (let i = 0; i < REQUESTS; i++) s.send(askForEverything)
    }
    await waitFor(() => refusals(q, 'backlog_connection'), (n) => n === ATTACKERS, 'every hoarder to be closed')
    await waitFor(() => metric(q, 'quire_connections'), (n) => n === 3, 'only the seeder and the bystanders left')
    await stillEditing(a, b, 'hoarders are gone')
    const rssGrowth = rss.stop() - rssBefore
    // Unbounded (budgets of 1 GiB) RSS grew by 813 MiB: ATTACKERS × REQUESTS × 2 MiB. Bounded: about 45 MiB.
    expect(rssGrowth).toBeLessThan(128 * MiB)
    console.log(`hoarders: RSS grew ${(rssGrowth / MiB).toFixed(1)} MiB (unbounded: ${ATTACKERS * REQUESTS * 2} MiB)`)
    for (const s of [seeder, ...attackers]) s.ws.close()
  })
})

describe('what a client sends while its document loads (MAX_WAITING_BYTES)', () => {
  it('beyond it the sender is closed with 4503; a client within it is served once the document has loaded', async () => {
    const store = new GatedStore()
    store.loadGate = gate()
    const q = await startInProcess(store, { MAX_MESSAGE_BYTES: String(MiB), MAX_WAITING_BYTES: String(2 * MiB) })
    try {
      const url = `${q.wsUrl}/admission/waiting`
      const greedy = await openRaw(url)
      const patient = await openRaw(url)
      patient.send(encodeUpdate(textUpdate('p'.repeat(900 * 1024))))
      patient.send(encodeSyncStep1(EMPTY_STATE_VECTOR))
      for (let i = 0; i < 3; i++) greedy.send(encodeUpdate(textUpdate('g'.repeat(900 * 1024))))
      expect(await greedy.whenClosed('the greedy client to be closed', 10_000)).toEqual({ code: CLOSE.unavailable, reason: 'too much sent while the document loads' })
      store.loadGate.open()
      const doc = new Y.Doc()
      await patient.next((f) => {
        const m = readServerFrame(f)
        if (m.type === 'sync-step2') Y.applyUpdate(doc, m.payload)
        return m.type === 'sync-step2'
      }, 'the patient client\'s answer', 10_000)
      // Its answer holds its own update: what waited was processed in order.
      expect(doc.getText('t').length).toBe(900 * 1024)
      const m = await readMetrics(q.url)
      expect(m.get('quire_limit_refusals_total{limit="waiting_bytes"}')).toBe(1)
      patient.ws.close()
    } finally {
      store.loadGate.open()
      await q.quire.drain()
    }
  })
})

describe('configuration of the budgets', () => {
  it('defaults; the message-sized ones follow MAX_MESSAGE_BYTES and may not be set below it; bad values are refused', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({
      MAX_CONNECTIONS_PER_IP: 200,
      MAX_CONNECTIONS_PER_USER: 100,
      MAX_PENDING_UPGRADES: 1000,
      MAX_SEND_BACKLOG_BYTES: 16 * MiB,
      MAX_INSTANCE_BACKLOG_BYTES: 512 * MiB,
      MAX_WAITING_BYTES: 32 * MiB,
      HEADERS_TIMEOUT_MS: 10_000,
    })
    expect(c.TRUST_PROXY).toBeUndefined()
    expect(loadConfig({ MAX_MESSAGE_BYTES: String(64 * MiB) })).toMatchObject({ MAX_SEND_BACKLOG_BYTES: 64 * MiB, MAX_WAITING_BYTES: 128 * MiB })
    expect(loadConfig({ MAX_SEND_BACKLOG_BYTES: String(32 * MiB) }).MAX_SEND_BACKLOG_BYTES).toBe(32 * MiB)
    expect(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toEqual({ hops: 1 })
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8,192.0.2.1' }).TRUST_PROXY).toEqual({ proxies: ['10.0.0.0/8', '192.0.2.1'] })
    expect(() => loadConfig({ MAX_SEND_BACKLOG_BYTES: String(8 * MiB) })).toThrow(/^invalid MAX_SEND_BACKLOG_BYTES \(got "8388608"\): must be at least MAX_MESSAGE_BYTES/)
    expect(() => loadConfig({ MAX_WAITING_BYTES: String(MiB), MAX_MESSAGE_BYTES: String(2 * MiB) })).toThrow(/^invalid MAX_WAITING_BYTES/)
    for (const [name, value] of [['MAX_CONNECTIONS_PER_IP', '0'], ['MAX_CONNECTIONS_PER_USER', 'many'], ['MAX_PENDING_UPGRADES', '-5'], ['MAX_INSTANCE_BACKLOG_BYTES', '1000'], ['HEADERS_TIMEOUT_MS', '1e4'], ['TRUST_PROXY', 'yes']]) {
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrow(new RegExp(`^invalid ${name} `))
    }
  })
})
