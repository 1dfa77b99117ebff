/**
 * A rolling restart behind a real HAProxy (docs/deployment.md, "Rolling
 * restarts"): two Quire instances on one Redis, deploy/haproxy.cfg in
 * front (its health checks on /readyz quickened to every 500 ms), 1,000 lean
 * clients from 50 client addresses editing all along, each edit carrying a
 * marker. Instance A gets SIGTERM: its /readyz turns 503, HAProxy takes it
 * out before anyone is closed, then its clients are closed with 1012 over
 * DRAIN_SPREAD_MS and reconnect through HAProxy to B; A is started again,
 * then the same for B. Nothing is lost (every marker is in the final
 * documents, read through the HTTP API, and every one was acknowledged),
 * no client gives up, and the surviving instance never admits new
 * connections faster than its budget (read from its metrics).
 */
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { HAPROXY, locateBinary } from '../harness/binaries.js'
import { startRedis, type RedisProcess } from '../harness/redis.js'
import type { QuireProcess } from '../harness/quire.js'
import { fleet } from './helpers/fleet.js'
import { LeanFleet, loopbackAddress } from './helpers/lean-client.js'
import { startHaproxy, type Haproxy } from './helpers/haproxy.js'
import { bucketExcess, peakRate, probeHealth, sampleMetric } from './helpers/load-probes.js'
import { readMetrics } from './helpers/metrics.js'
import { within } from './helpers/wait.js'
import { CLOSE } from '../common/close-codes.js'

const CLIENTS = 1000
const DOCUMENTS = 100
const ADDRESSES = 50
/** Each client edits about this often. */
const EDIT_EVERY_MS = 2000
const EDIT_TICK_MS = 50
/** Tight enough to matter: a whole instance's clients arriving within the spread exceed it. */
const RATE = { perSecond: 200, burst: 100 }
const GRACE_MS = 2500
const SPREAD_MS = 4000

const haproxy = locateBinary(HAPROXY.name, HAPROXY.envVar)
if (haproxy === null) console.warn('rolling-restart.test.ts: haproxy not installed (apt-get install haproxy; .ci/run installs it): skipped')

const { start, forget, stopAll } = fleet()
const lean = new LeanFleet()
let redis: RedisProcess | undefined
let lb: Haproxy | undefined
afterAll(async () => {
  lean.closeAll()
  await lb?.stop()
  await stopAll()
  await redis?.stop()
})

describe.skipIf(haproxy === null)('a rolling restart behind HAProxy', () => {
  it(`${CLIENTS.toLocaleString('en')} clients editing: no edit lost, no client gives up, the surviving instance admits within its budget`, async () => {
    redis = await startRedis()
    const env = {
      REDIS_URL: redis.url,
      TRUST_PROXY: '1',
      DRAIN_GRACE_MS: String(GRACE_MS),
      DRAIN_SPREAD_MS: String(SPREAD_MS),
      MAX_NEW_CONNECTIONS_PER_SECOND: String(RATE.perSecond),
      MAX_NEW_CONNECTIONS_BURST: String(RATE.burst),
    }
    const instances: Record<string, QuireProcess> = {}
    ;[instances['quire-1'], instances['quire-2']] = await Promise.all([start(env), start(env)])
    lb = await startHaproxy(haproxy!, Object.entries(instances).map(([name, q]) => ({ name, port: q.port })), { checkInter: '500ms' })
    await Promise.all(Object.keys(instances).map((name) => lb!.whenStatus(name, 'UP', `HAProxy to see ${name} up`)))

    const docName = (d: number): string => `rolling/doc-${d}`
    for (let i = 0; i < CLIENTS; i++) lean.add({ target: () => lb!.wsUrl, doc: docName(i % DOCUMENTS), localAddress: loopbackAddress(i, ADDRESSES) })
    const connectStarted = performance.now()
    await lean.every((c) => c.synced, 'every client to sync through HAProxy', 60_000)
    const connectMs = performance.now() - connectStarted
    const initialCloses = lean.closesByCode()

    // Live editing from now until the end: each tick, the next few clients edit.
    let edits = 0
    let next = 0
    const perTick = Math.ceil(CLIENTS * EDIT_TICK_MS / EDIT_EVERY_MS)
    const editing = setInterval(() => {
      for (let n = 0; n < perTick; n++, next = (next + 1) % CLIENTS) lean.clients[next].edit(`c${next}e${edits++}.`)
    }, EDIT_TICK_MS)

    const restarts: Array<Record<string, unknown>> = []
    try {
      for (const [name, survivorName] of [['quire-1', 'quire-2'], ['quire-2', 'quire-1']]) {
        const draining = instances[name]
        const survivor = instances[survivorName]
        const accepted = sampleMetric(survivor.url, 'quire_connections_accepted_total')
        const ready = probeHealth(`${survivor.url}/readyz`, 100)
        const before = await readMetrics(survivor.url)
        const closesBefore = lean.closesByCode()
        const survivorDowns = await lb.checksFailed(survivorName)
        const restarts1012: number[] = []
        const listener = (code: number): void => { if (code === CLOSE.restarting) restarts1012.push(performance.now()) }
        lean.onClose(listener)

        const signalled = performance.now()
        draining.proc.kill('SIGTERM')
        await lb.whenStatus(name, 'DOWN', `HAProxy to take ${name} out once its /readyz says 503`, 10_000)
        const outAfterMs = performance.now() - signalled
        expect(await within(draining.exited, 30_000, `${name} to finish its drain and exit`)).toBe(0)
        forget(draining)
        const drainedMs = performance.now() - signalled
        instances[name] = await start(draining.env)
        await lb.whenStatus(name, 'UP', `HAProxy to take ${name} back once it is ready`, 10_000)

        const [samples, readiness] = await Promise.all([accepted.stop(), ready.stop()])
        const after = await readMetrics(survivor.url)
        const refused = (after.get('quire_limit_refusals_total{limit="new_connections"}') ?? 0) - (before.get('quire_limit_refusals_total{limit="new_connections"}') ?? 0)
        const figures = {
          restarted: name,
          outOfHaproxyAfterMs: Math.round(outAfterMs),
          exitedAfterMs: Math.round(drainedMs),
          closed1012: restarts1012.length,
          first1012AfterMs: Math.round((restarts1012[0] ?? NaN) - signalled),
          closesSpreadOverMs: Math.round((restarts1012.at(-1) ?? NaN) - (restarts1012[0] ?? NaN)),
          survivorAccepted: (after.get('quire_connections_accepted_total') ?? 0) - (before.get('quire_connections_accepted_total') ?? 0),
          survivorPeakPerSecond: Math.round(peakRate(samples)),
          survivorRefusedNewConnections: refused,
          survivorBucketExcess: Math.round(bucketExcess(samples, RATE.perSecond, RATE.burst)),
          survivorTakenOut: (await lb.checksFailed(survivorName)) - survivorDowns,
          survivorReadyz: { answers: readiness.answers, failures: readiness.failures.length, slowestMs: Math.round(readiness.maxMs) },
          clientCloses: Object.fromEntries(Object.entries(lean.closesByCode()).map(([code, n]) => [code, n - (closesBefore[Number(code)] ?? 0)]).filter(([, n]) => n !== 0)),
        }
        restarts.push(figures)
        // HAProxy had stopped sending new clients before the first was told to go.
        expect(restarts1012.length).toBeGreaterThan(0)
        expect(figures.first1012AfterMs).toBeGreaterThan(outAfterMs)
        // The closes were spread out, not all at once.
        expect(figures.closesSpreadOverMs).toBeGreaterThan(SPREAD_MS / 2)
        // The survivor admitted no faster than its bucket allows (the sampling adds a little).
        expect(bucketExcess(samples, RATE.perSecond, RATE.burst, RATE.perSecond * 0.2)).toBeLessThanOrEqual(0)
      }
    } finally {
      clearInterval(editing)
    }

    // Everyone back, everything acknowledged.
    await lean.every((c) => c.synced && c.unacked.size === 0, 'every client to be synced with all its edits acknowledged', 30_000)
    const survivor = instances['quire-1']
    let present = 0
    const missing: string[] = []
    for (let d = 0; d < DOCUMENTS; d++) {
      const res = await fetch(`${survivor.url}/api/documents/${encodeURIComponent(docName(d))}/state`)
      expect(res.status).toBe(200)
      const doc = new Y.Doc()
      Y.applyUpdate(doc, new Uint8Array(await res.arrayBuffer()))
      const text = doc.getText('t').toString()
      for (const c of lean.clients.filter((_, i) => i % DOCUMENTS === d)) {
        for (const marker of c.acked) {
          if (text.includes(`${marker} `)) present++
          else missing.push(marker)
        }
      }
      doc.destroy()
    }
    const figures = {
      clients: CLIENTS,
      documents: DOCUMENTS,
      initialConnectMs: Math.round(connectMs),
      initialCloses,
      edits,
      markersPresent: present,
      missing: missing.length,
      clientsThatGaveUp: lean.count((c) => c.stoppedBy !== null),
      reconnectsPerClient: lean.clients.reduce((n, c) => n + c.opens - 1, 0) / CLIENTS,
      closesByCode: lean.closesByCode(),
      connectionErrors: lean.errorsByMessage(),
      restarts,
    }
    console.log(`rolling restart: ${JSON.stringify(figures)}`)

    expect(missing).toEqual([])
    expect(present).toBe(edits)
    expect(figures.clientsThatGaveUp).toBe(0)
    // Every client was moved at least once (by one drain or the other), and came back.
    expect(lean.count((c) => c.syncs < 2)).toBe(0)
  }, 150_000)
})
