/**
 * Operations (docs/deployment.md, docs/metrics.md, docs/configuration.md): health, readiness, metrics, JSON logs, and
 * the graceful drain on SIGTERM/SIGINT, however many arrive.
 */
import { afterAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import type { QuireProcess } from '../harness/quire.js'
import { fleet } from './helpers/fleet.js'
import { QUICK_DRAIN } from './helpers/env-presets.js'
import { connectClient, whenClosed, whenDoc, whenSynced, type TestClient } from './helpers/clients.js'
import { openRaw } from './helpers/raw-socket.js'
import { CLOSE, UNAVAILABLE_REASONS, reasonWithoutRetryAfter, retryAfterOf } from '../common/close-codes.js'
import { openTcpWebSocket } from './helpers/raw-tcp.js'
import { encodeUpdate, readServerFrame, textUpdate } from './helpers/frames.js'
import { readMetrics } from './helpers/metrics.js'
import { DEADLINE_MS, waitFor, within } from './helpers/wait.js'
import { GatedStore, gate, nextTurn } from './helpers/gated-store.js'
import { startInProcess } from './helpers/in-process.js'

const { start, client, forget, stopAll } = fleet()
const clients: TestClient[] = []
afterAll(async () => {
  for (const c of clients) c.destroy()
  await stopAll()
})
const logLines = (q: QuireProcess): Array<Record<string, unknown>> => q.logs.map((l) => JSON.parse(l) as Record<string, unknown>)

describe('health, readiness, metrics, logs', () => {
  it('/healthz, /readyz and /metrics answer, and the metrics count what happens', async () => {
    // The edit below also owes a version of the document (docs/history.md): due after a short quiet period here.
    const q = await start({ HISTORY_QUIET_MS: '200' })
    const health = await fetch(`${q.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.text()).toBe('ok\n')
    expect((await fetch(`${q.url}/readyz`)).status).toBe(200)

    const a = client(q, 'ops/metrics')
    const b = client(q, 'ops/metrics')
    await Promise.all([whenSynced(a, 'client a to sync'), whenSynced(b, 'client b to sync')])
    a.text.insert(0, 'counted')
    await whenDoc(b.doc, () => b.text.toString() === 'counted', 'a\'s edit to reach b')
    const raw = await openRaw(`${q.wsUrl}/ops/metrics`)
    raw.send(new Uint8Array([42]))
    await raw.whenClosed('the server to close a connection that sent an unknown message type')

    const res = await fetch(`${q.url}/metrics`)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    // The timers this traffic armed (building the document, flushing presence,
    // the version owed) fire within a second and are uncounted: the gauge comes back to 0. (That
    // it counts timers that stay armed is shown in lifecycle.test.ts.)
    const m = await waitFor(() => readMetrics(q.url), (m) => m.get('quire_timers_active') === 0, 'quire_timers_active to come back to 0 once the armed timers fired')
    expect(m.get('quire_connections')).toBe(2)
    expect(m.get('quire_documents_loaded')).toBe(1)
    expect(m.get('quire_documents_alive')).toBe(1)
    expect(m.get('quire_messages_in_total{type="update"}')).toBeGreaterThanOrEqual(1)
    expect(m.get('quire_messages_in_total{type="sync-step1"}')).toBeGreaterThanOrEqual(2)
    expect(m.get('quire_messages_out_total')).toBeGreaterThan(0)
    expect(m.get('quire_bytes_in_total')).toBeGreaterThan(0)
    expect(m.get('quire_bytes_out_total')).toBeGreaterThan(0)
    expect(m.get('quire_persist_seconds_count')).toBeGreaterThanOrEqual(1)
    expect(m.get('quire_persist_seconds_bucket{le="+Inf"}')).toBe(m.get('quire_persist_seconds_count'))
    expect(m.get('quire_connection_closes_total{code="4400"}')).toBe(1)
    expect(m.get('quire_errors_total{kind="protocol"}')).toBe(1)
    expect(m.get('quire_persist_failures_total')).toBe(0)
    expect([...m.keys()].some((k) => k.startsWith('quire_process_resident_memory_bytes'))).toBe(true)
  })

  it('logs one JSON object per line on stdout', async () => {
    const q = await start({ LOG_LEVEL: 'debug' })
    const c = client(q, 'ops/logs')
    await whenSynced(c, 'a client to sync (so there is something to log)')
    const lines = logLines(q)
    expect(lines.length).toBeGreaterThan(1)
    for (const line of lines) {
      expect(line).toMatchObject({ service: 'quire' })
      expect(typeof line.level).toBe('number')
      expect(typeof line.time).toBe('number')
      expect(typeof line.msg).toBe('string')
    }
    expect(lines.find((l) => l.msg === 'quire listening')).toMatchObject({ port: q.port, host: '127.0.0.1' })
  })
})

describe('graceful drain', () => {
  it('SIGTERM: everything persisted, clients closed with 1012, exit 0; what was seen or acknowledged survives the restart', async () => {
    const q = await start(QUICK_DRAIN)
    const a = client(q, 'ops/drain')
    const b = client(q, 'ops/drain')
    await Promise.all([whenSynced(a, 'client a to sync'), whenSynced(b, 'client b to sync')])
    a.text.insert(0, 'seen by b. ')
    await whenDoc(b.doc, () => b.text.toString().includes('seen by b'), 'a\'s edit to reach b')
    const acked = await openRaw(`${q.wsUrl}/ops/drain?ack=1`)
    acked.send(encodeUpdate(textUpdate('acknowledged. ')))
    await acked.next((f) => { const m = readServerFrame(f); return m.type === 'ack' && m.count === 1 }, 'the acknowledgement of the raw client\'s update')
    // A client that never answers the closing handshake must not hold the drain.
    const deaf = await openTcpWebSocket(q.port, '/ops/drain')

    const closes = [whenClosed(a, 'the drain to close client a'), whenClosed(b, 'the drain to close client b')]
    q.proc.kill('SIGTERM')
    for (const close of await Promise.all(closes)) expect(close.code).toBe(1012)
    expect((await acked.whenClosed('the drain to close the raw client')).code).toBe(1012)
    expect(await within(q.exited, 10_000, 'the process to exit')).toBe(0)
    forget(q)
    // It was sent the close frame like everyone else (then the exit ended its TCP connection).
    expect((await deaf.whenClosed('the drain to close the client that ignores the closing handshake'))?.code).toBe(1012)
    const msgs = logLines(q).map((l) => l.msg)
    expect(msgs.filter((m) => m === 'draining')).toHaveLength(1)
    expect(msgs).toContain('drained; bye')
    expect(msgs).not.toContain('drain timed out; exiting')

    a.destroy()
    b.destroy()
    const again = await start(q.env)
    const c = client(again, 'ops/drain')
    await whenSynced(c, 'a client of the restarted process to sync')
    expect(c.text.toString()).toContain('seen by b. ')
    expect(c.text.toString()).toContain('acknowledged. ')
  })

  it('with a grace and a spread: /readyz 503 at once while everyone is still served and newcomers are told when to come back; then 1012 in batches over the spread; exit 0', async () => {
    const GRACE_MS = 1500
    const SPREAD_MS = 1500
    const q = await start({ DRAIN_GRACE_MS: String(GRACE_MS), DRAIN_SPREAD_MS: String(SPREAD_MS) })
    const a = client(q, 'ops/paced')
    const b = client(q, 'ops/paced')
    await Promise.all([whenSynced(a, 'client a to sync'), whenSynced(b, 'client b to sync')])
    const raws = await Promise.all(Array.from({ length: 30 }, (_, i) => openRaw(`${q.wsUrl}/ops/paced-${i}`)))
    const closedAt: number[] = []
    const closes = raws.map((r, i) => r.whenClosed(`the drain to close raw client ${i}`).then((close) => { closedAt.push(performance.now()); return close }))
    const aClosed = whenClosed(a, 'the drain to close client a')

    const signalled = performance.now()
    q.proc.kill('SIGTERM')
    await waitFor(() => fetch(`${q.url}/readyz`).then((r) => r.status), (s) => s === 503, '/readyz to answer 503 once draining')
    expect((await fetch(`${q.url}/healthz`)).status).toBe(200)
    expect((await readMetrics(q.url)).get('quire_draining')).toBe(1)
    // Those connected are served as before.
    a.text.insert(0, 'during the grace')
    await whenDoc(b.doc, () => b.text.toString() === 'during the grace', 'an edit made during the grace to reach the other client')
    // A newcomer is refused and told to come back once the grace is over.
    const late = await openRaw(`${q.wsUrl}/ops/paced`)
    const refusal = await late.whenClosed('a newcomer to be refused while draining')
    expect(refusal.code).toBe(CLOSE.unavailable)
    expect(reasonWithoutRetryAfter(refusal.reason)).toBe(UNAVAILABLE_REASONS.draining)
    expect(retryAfterOf(refusal.reason)).toBeGreaterThan(0)
    expect(retryAfterOf(refusal.reason)).toBeLessThanOrEqual(GRACE_MS)

    for (const close of await Promise.all(closes)) expect(close.code).toBe(CLOSE.restarting)
    expect((await aClosed).code).toBe(CLOSE.restarting)
    const first = Math.min(...closedAt) - signalled
    const spread = Math.max(...closedAt) - Math.min(...closedAt)
    console.log(`paced drain: first 1012 after ${Math.round(first)} ms, closes spread over ${Math.round(spread)} ms (grace ${GRACE_MS}, spread ${SPREAD_MS})`)
    expect(first).toBeGreaterThanOrEqual(GRACE_MS * 0.9)
    expect(spread).toBeGreaterThanOrEqual(SPREAD_MS * 0.5)
    expect(await within(q.exited, 15_000, 'the process to exit')).toBe(0)
    forget(q)
    a.destroy()
    b.destroy()
    const again = await start(q.env)
    const c = client(again, 'ops/paced')
    await whenDoc(c.doc, () => c.text.toString() === 'during the grace', 'the edit made during the grace to survive the restart')
  })

  for (const signals of [['SIGTERM', 'SIGTERM'], ['SIGINT', 'SIGTERM'], ['SIGTERM', 'SIGINT', 'SIGTERM']] as NodeJS.Signals[][]) {
    it(`${signals.join(' + ')}: one drain, exit 0`, async () => {
      const q = await start(QUICK_DRAIN)
      const a = client(q, 'ops/signals')
      await whenSynced(a, 'a client to sync')
      a.text.insert(0, 'x')
      for (const s of signals) q.proc.kill(s)
      expect(await within(q.exited, 10_000, 'the process to exit')).toBe(0)
      forget(q)
      a.destroy()
      expect(logLines(q).filter((l) => l.msg === 'draining')).toHaveLength(1)
    })
  }

  it('stops accepting at once, waits for writes in flight before closing anyone, then closes with 1012 (in process, slow store)', async () => {
    const store = new GatedStore()
    const q = await startInProcess(store)
    const a = connectClient(q.wsUrl, 'slow')
    clients.push(a)
    await whenSynced(a, 'the client to sync')
    store.appendGate = gate()
    a.text.insert(0, 'in flight')
    await waitFor(() => store.calls.append, (n) => n > 0, 'the edit\'s write to reach the store')
    let gateOpen = false
    let closedEarly = false
    const closed = whenClosed(a, 'the drain to close the client').then((e) => { closedEarly = !gateOpen; return e })
    const drained = q.quire.drain()
    // Nobody new gets in.
    const refused = await within(new Promise<string>((resolve) => {
      const ws = new WebSocket(`${q.wsUrl}/slow`)
      ws.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
      ws.on('close', (code) => resolve(String(code)))
    }), DEADLINE_MS, 'a connection attempt during the drain to be refused')
    expect(['ECONNREFUSED', '4503']).toContain(refused)
    await nextTurn()
    expect(a.provider.wsconnected).toBe(true)
    gateOpen = true
    store.appendGate.open()
    expect((await closed).code).toBe(1012)
    expect(closedEarly).toBe(false)
    await within(drained, 10_000, 'the drain')
    const replay = new Y.Doc()
    for (const u of (await store.load('slow')).updates) Y.applyUpdate(replay, u)
    expect(replay.getText('t').toString()).toBe('in flight')
    a.destroy()
  })
})
