/**
 * The fallback transport on the server (docs/protocol.md, "The fallback
 * transport"), from raw fetch requests: a stream and POSTs carry the same
 * frames as a WebSocket, to the same document as stock y-websocket clients
 * (on this instance and, over Redis, on another), with the same acks,
 * presence, limits and close codes.
 */
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { QuireProcess } from '../harness/quire.js'
import { startRedis, type RedisProcess } from '../harness/redis.js'
import { fleet } from './helpers/fleet.js'
import { connectClient, whenAwareness, whenDoc, whenSynced } from './helpers/clients.js'
import { openRaw } from './helpers/raw-socket.js'
import { openStream, type RawStream } from './helpers/raw-stream.js'
import { awarenessFrame, encodeSyncStep1, encodeUpdate, isType, readServerFrame, textUpdate, EMPTY_AWARENESS } from './helpers/frames.js'
import { readMetrics } from './helpers/metrics.js'
import { mintToken, nowSeconds, TEST_SECRET } from './helpers/tokens.js'
import { waitFor } from './helpers/wait.js'

/** Low enough to watch keep-alives within a test. */
const KEEPALIVE_MS = 300

const { start, stop, stopAll } = fleet()
const stock: Array<{ destroy (): void }> = []
let quire: QuireProcess
let secured: QuireProcess
let small: QuireProcess

beforeAll(async () => {
  [quire, secured, small] = await Promise.all([
    start({ KEEPALIVE_MS: String(KEEPALIVE_MS) }),
    start({ AUTH_SECRET: TEST_SECRET, AUTH_CLOCK_SKEW_SECONDS: '0' }),
    start({ MAX_MESSAGE_BYTES: '1024', MAX_CONNECTIONS_PER_IP: '2' }),
  ])
})
afterAll(async () => {
  for (const c of stock) c.destroy()
  await stopAll()
})

const streams: RawStream[] = []
async function stream (q: QuireProcess, doc: string, query = 'ack=1', headers: Record<string, string> = {}): Promise<RawStream> {
  const s = await openStream(`${q.url}/sync/${doc}?${query}`, headers)
  streams.push(s)
  return s
}
afterAll(() => { for (const s of streams) s.abort() })

function client (q: QuireProcess, doc: string, token?: string): ReturnType<typeof connectClient> {
  const c = connectClient(q.wsUrl, doc, { token })
  stock.push(c)
  return c
}

const acked = (s: RawStream, n: number) => (): boolean => s.frames.some((f) => {
  const m = readServerFrame(f)
  return m.type === 'ack' && m.count >= n
})

describe('a stream session', () => {
  it('opens with a session event, then the same frames a WebSocket gets; POSTed frames sync with a stock client and are acknowledged', async () => {
    const alice = client(quire, 'stream/basic')
    await whenSynced(alice, 'a stock client to sync')
    alice.text.insert(0, 'from a WebSocket. ')

    const s = await stream(quire, 'stream/basic')
    expect(s.status).toBe(200)
    expect(s.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(s.headers.get('cache-control')).toContain('no-transform')
    await s.until(() => s.session !== null, 'the session event')
    expect(s.events[0].event).toBe('session')
    expect(s.session!.session).toMatch(/^[A-Za-z0-9_-]{24}$/)
    expect(s.headers.get('x-quire-session')).toBe(s.session!.session)
    // One frame of MAX_MESSAGE_BYTES (16 MiB), in base64, and its line end.
    expect(s.session!.maxBody).toBe(Math.ceil(16 * 1024 * 1024 / 3) * 4 + 1)

    // As on a WebSocket with ?ack=1: the session message first, then the server's sync step 1.
    await s.next(isType('sync-step1'), 'the server\'s sync step 1')
    expect(readServerFrame(s.frames[0])).toEqual({ type: 'session', info: { access: 'write' } })
    expect(readServerFrame(s.frames[1]).type).toBe('sync-step1')

    // Our step 1 is answered with a step 2 holding Alice's text.
    const doc = new Y.Doc()
    expect((await s.post([encodeSyncStep1(Y.encodeStateVector(doc))])).status).toBe(204)
    const step2 = readServerFrame(await s.next(isType('sync-step2'), 'the step 2 answering our step 1'))
    Y.applyUpdate(doc, step2.type === 'sync-step2' ? step2.payload : new Uint8Array())
    expect(doc.getText('t').toString()).toBe('from a WebSocket. ')

    // Two edits in one POST (one frame per line): both reach Alice, both are acknowledged.
    const updates: Uint8Array[] = []
    doc.on('update', (u: Uint8Array) => updates.push(u))
    doc.getText('t').insert(doc.getText('t').length, 'From the stream,')
    doc.getText('t').insert(doc.getText('t').length, ' twice.')
    expect((await s.post(updates.map(encodeUpdate))).status).toBe(204)
    await s.until(acked(s, 2), 'an ack of both update messages')
    await whenDoc(alice.doc, () => alice.text.toString() === 'from a WebSocket. From the stream, twice.', 'Alice to get the stream\'s edits')

    // Alice's edit comes down the stream as an update (counting only frames
    // from now: her first edit may also have come as one, if it was still
    // being stored when the stream opened).
    const from = s.frames.length
    alice.text.insert(0, '> ')
    await s.until(() => s.frames.slice(from).some(isType('update')), 'Alice\'s edit as a sync update')
    for (const f of s.frames.slice(from)) {
      const m = readServerFrame(f)
      if (m.type === 'update') Y.applyUpdate(doc, m.payload)
    }
    expect(doc.getText('t').toString()).toBe(alice.text.toString())
  })

  it('presence both ways; when the stream goes, its presence goes and later POSTs get 404', async () => {
    const bob = client(quire, 'stream/presence')
    await whenSynced(bob, 'Bob to sync')
    bob.provider.awareness.setLocalStateField('user', { name: 'Bob' })
    const s = await stream(quire, 'stream/presence')
    await s.next((f) => isType('awareness')(f) && new TextDecoder().decode(f).includes('Bob'), 'Bob\'s presence down the stream')
    expect((await s.post([awarenessFrame(4242, 1, '{"user":{"name":"Carol"}}')])).status).toBe(204)
    await whenAwareness(bob, (states) => (states.get(4242)?.user as { name?: string } | undefined)?.name === 'Carol', 'Bob to see Carol, who is on the stream')

    s.abort()
    await whenAwareness(bob, (states) => !states.has(4242), 'Carol\'s presence to go with her stream')
    const late = await s.post([EMPTY_AWARENESS])
    expect(late.status).toBe(404)
    const metrics = await readMetrics(quire.url)
    expect(metrics.get('quire_stream_unknown_sessions_total')).toBeGreaterThanOrEqual(1)
  })

  it('keeps an idle stream alive with the same keep-alive frames as a WebSocket', async () => {
    const s = await stream(quire, 'stream/idle')
    await s.next(isType('sync-step1'), 'the server\'s step 1')
    const before = s.frames.length
    await s.until(() => s.frames.slice(before).filter((f) => f.length === 3 && f[0] === 1 && f[1] === 1 && f[2] === 0).length >= 2, 'two keep-alives on an idle stream')
  })

  it('is counted by transport in /metrics, next to WebSockets, and uncounted when it goes', async () => {
    const count = (m: Map<string, number>): { stream: number, websocket: number, all: number } => ({
      stream: m.get('quire_connections_by_transport{transport="stream"}') ?? NaN,
      websocket: m.get('quire_connections_by_transport{transport="websocket"}') ?? NaN,
      all: m.get('quire_connections') ?? NaN,
    })
    const before = count(await readMetrics(quire.url))
    const s = await stream(quire, 'stream/metrics')
    const ws = await openRaw(`${quire.wsUrl}/stream/metrics`)
    await s.next(isType('sync-step1'), 'the stream to join')
    const during = count(await readMetrics(quire.url))
    expect(during).toEqual({ stream: before.stream + 1, websocket: before.websocket + 1, all: before.all + 2 })
    expect(during.all).toBe(during.stream + during.websocket)
    s.abort()
    ws.ws.close()
    await waitFor(async () => count(await readMetrics(quire.url)), (after) => after.stream === before.stream && after.all === before.all, 'both connections to be uncounted')
  })
})

describe('refusals and closes', () => {
  it('a frame that is not a y-protocols message: 410 with 4400, the same close as the stream\'s last event', async () => {
    const s = await stream(quire, 'stream/garbage')
    await s.next(isType('sync-step1'), 'the server\'s step 1')
    const res = await s.post([new Uint8Array([7, 7, 7])])
    expect(res.status).toBe(410)
    expect(await res.json()).toEqual({ code: 4400, reason: 'unknown message type 7' })
    expect(await s.whenClosed('the close event')).toEqual({ code: 4400, reason: 'unknown message type 7' })
    await s.whenEnded('the stream to end after its close event')
    const m = await readMetrics(quire.url)
    expect(m.get('quire_connection_closes_by_transport_total{transport="stream",code="4400"}')).toBeGreaterThanOrEqual(1)
  })

  it('a line that is not base64 closes with 4400; unknown sessions, other documents and other methods are refused', async () => {
    const s = await stream(quire, 'stream/not-base64')
    await s.next(isType('sync-step1'), 'the server\'s step 1')
    // The session id does not open another document's connection.
    const other = await fetch(`${quire.url}/sync/stream/elsewhere?session=${s.session!.session}`, { method: 'POST', body: '' })
    expect(other.status).toBe(404)
    expect((await fetch(`${quire.url}/sync/stream/not-base64?session=nope`, { method: 'POST', body: '' })).status).toBe(404)
    expect((await fetch(`${quire.url}/sync/stream/not-base64`, { method: 'PUT', body: '' })).status).toBe(405)
    const res = await s.post('AQEA\n%%%%\n')
    expect(res.status).toBe(410)
    expect(await s.whenClosed('the close event')).toEqual({ code: 4400, reason: 'malformed frame' })
  })

  it('an invalid document name is refused with 4400, as a close event', async () => {
    const s = await stream(quire, 'a//b')
    expect(await s.whenClosed('the refusal')).toEqual({ code: 4400, reason: 'invalid document name' })
    expect(s.session).toBeNull()
    expect(s.frames).toEqual([])
  })

  it('a POST over the size limit (a frame over MAX_MESSAGE_BYTES) closes with 4413', async () => {
    const s = await stream(small, 'stream/big')
    await s.next(isType('sync-step1'), 'the server\'s step 1')
    expect(s.session!.maxBody).toBe(Math.ceil(1024 / 3) * 4 + 1)
    const res = await s.post([encodeUpdate(new Uint8Array(2000))])
    expect(res.status).toBe(410)
    expect(await s.whenClosed('the close event')).toEqual({ code: 4413, reason: 'message too large' })
  })

  it('one POST at a time per session: a second one meanwhile gets 409', async () => {
    const s = await stream(quire, 'stream/one-post')
    await s.next(isType('sync-step1'), 'the server\'s step 1')
    const path = `/sync/stream/one-post?session=${s.session!.session}`
    // A POST whose body has not finished arriving.
    const slow = request({ host: '127.0.0.1', port: quire.port, path, method: 'POST', headers: { 'content-type': 'text/plain', 'content-length': '9' } })
    const slowAnswer = new Promise<number>((resolve, reject) => {
      slow.on('response', (r) => { r.resume(); resolve(r.statusCode ?? 0) })
      slow.on('error', reject)
    })
    slow.write('AQE')
    await waitFor(async () => (await s.post([EMPTY_AWARENESS])).status, (status) => status === 409, 'a second POST to be refused while the first is read')
    slow.end('A\nAQEA')
    expect(await slowAnswer).toBe(204)
    expect((await s.post([EMPTY_AWARENESS])).status).toBe(204)
    const m = await readMetrics(quire.url)
    expect(m.get('quire_limit_refusals_total{limit="stream_posts_in_flight"}')).toBeGreaterThanOrEqual(1)
  })

  it('streams and WebSockets share the per-address budget (4429), freed when a stream ends', async () => {
    const ws = await openRaw(`${small.wsUrl}/stream/budget`)
    const first = await stream(small, 'stream/budget')
    await first.next(isType('sync-step1'), 'the first stream to join')
    const third = await stream(small, 'stream/budget')
    expect(await third.whenClosed('the third connection to be refused')).toEqual({ code: 4429, reason: 'too many connections from this address' })
    first.abort()
    await waitFor(async () => {
      const again = await stream(small, 'stream/budget')
      const answer = await Promise.race([again.next(isType('sync-step1'), 'a join', 5000).then(() => 'joined'), again.whenClosed('a refusal', 5000)])
      again.abort()
      return answer
    }, (answer) => answer === 'joined', 'a stream to get in once the first one ended')
    ws.ws.close()
  })

  it('a page from another origin is refused like its WebSocket (4403); its POSTs get 403', async () => {
    const s = await stream(quire, 'stream/origin', 'ack=1', { origin: 'http://evil.example' })
    expect(await s.whenClosed('the refusal')).toEqual({ code: 4403, reason: 'origin not allowed' })
    const own = await stream(quire, 'stream/origin', 'ack=1', { origin: quire.url })
    await own.next(isType('sync-step1'), 'the server\'s own page to join')
    const foreign = await fetch(`${quire.url}/sync/stream/origin?session=${own.session!.session}`, { method: 'POST', body: '', headers: { origin: 'http://evil.example' } })
    expect(foreign.status).toBe(403)
  })
})

describe('draining', () => {
  it('a graceful restart ends the stream with 1012, once what it sent is durable', async () => {
    const q = await start()
    const s = await stream(q, 'stream/drain')
    await s.next(isType('sync-step1'), 'the server\'s step 1')
    expect((await s.post([encodeUpdate(textUpdate('kept'))])).status).toBe(204)
    await s.until(acked(s, 1), 'the ack')
    expect(await stop(q, 'SIGTERM')).toBe(0)
    expect(await s.whenClosed('the close event of the drain')).toEqual({ code: 1012, reason: 'server restarting' })
    await s.whenEnded('the stream to end')
  })
})

describe('tokens', () => {
  it('no token: 4401; a token for other documents: 4403; read-only access is announced', async () => {
    const none = await stream(secured, 'stream/secret')
    expect(await none.whenClosed('the refusal')).toEqual({ code: 4401, reason: 'missing token' })
    const other = await stream(secured, 'stream/secret', `ack=1&token=${await mintToken({ sub: 'u', allowedDocumentNames: ['elsewhere'] })}`)
    expect(await other.whenClosed('the refusal')).toEqual({ code: 4403, reason: 'token does not cover this document' })
    const reader = await stream(secured, 'stream/secret', `ack=1&token=${await mintToken({ sub: 'u', readonlyDocumentNames: ['stream/secret'] })}`)
    const first = readServerFrame(await reader.next(() => true, 'the session message'))
    expect(first).toEqual({ type: 'session', info: { access: 'read' } })
  })

  it('a token that expires during the session closes the stream with 4401', async () => {
    const token = await mintToken({ sub: 'u', allowedDocumentNames: ['stream/*'] }, { expiresAt: nowSeconds() + 2 })
    const s = await stream(secured, 'stream/expiring', `ack=1&token=${token}`)
    await s.next(isType('sync-step1'), 'the server\'s step 1')
    expect(await s.whenClosed('the expiry', 10_000)).toEqual({ code: 4401, reason: 'token expired' })
    await s.whenEnded('the stream to end')
    expect((await s.post([EMPTY_AWARENESS])).status).toBe(404)
  })
})

describe('across instances', () => {
  let redis: RedisProcess | undefined
  afterAll(async () => { await redis?.kill() })

  it('a stream on one instance and a stock client on another edit one document', async () => {
    redis = await startRedis()
    const [a, b] = await Promise.all([start({ REDIS_URL: redis.url }), start({ REDIS_URL: redis.url })])
    const dana = client(b, 'stream/across')
    await whenSynced(dana, 'Dana to sync on the second instance')
    const s = await stream(a, 'stream/across')
    await s.next(isType('sync-step1'), 'the stream to join on the first instance')
    expect((await s.post([encodeUpdate(textUpdate('over the stream'))])).status).toBe(204)
    await s.until(acked(s, 1), 'the ack')
    await whenDoc(dana.doc, () => dana.text.toString() === 'over the stream', 'Dana to get the edit through Redis')
    dana.text.insert(0, 'Dana: ')
    await s.next((f) => isType('update')(f) && new TextDecoder().decode(f).includes('Dana: '), 'Dana\'s edit down the stream')
  })
})
