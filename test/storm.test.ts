/**
 * A reconnect storm (docs/configuration.md, "Limits"; docs/deployment.md,
 * "Rolling restarts"): 2,000 clients on 200 documents lose their instance
 * to kill -9 and all reconnect, within a second, to the other instance on
 * the same Redis. That instance paces them with its default budgets
 * (MAX_NEW_CONNECTIONS_PER_SECOND, _BURST; the per-address ones, the
 * clients coming from 100 loopback addresses), telling those it refuses
 * when to come back (4503 with a retry-after hint, which the clients
 * honour as Quire's provider does). Every client is synced again within
 * the bound below, /healthz keeps answering all along, and a pair of
 * editors already on that instance keeps editing with a bounded p99.
 *
 * The clients are lean raw y-protocols clients (test/helpers/lean-client.ts)
 * that keep the document (so a reconnect asks with a full state vector, as
 * a browser's would). The bounds are generous: the machine is shared; the
 * figures are printed.
 */
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startRedis, type RedisProcess } from '../harness/redis.js'
import { fleet } from './helpers/fleet.js'
import { connectClient, whenSynced, type TestClient } from './helpers/clients.js'
import { LeanFleet, loopbackAddress } from './helpers/lean-client.js'
import { bucketExcess, peakRate, percentile, probeEditLatency, probeHealth, sampleMetric } from './helpers/load-probes.js'
import { readMetrics } from './helpers/metrics.js'
import { loadConfig } from '../server/config.js'

const CLIENTS = 2000
const DOCUMENTS = 200
const ADDRESSES = 100
/*
 * Bounds, generous for a shared 2-core machine (on an idle one: all synced
 * again in about 4 s, /healthz within 60 ms, the bystanders' p99 under
 * 50 ms; with the rest of the suite running beside it, about 12 s, 1 s and
 * 1.5 s).
 */
/** Every client synced again within this long after the kill. */
const RESYNC_BOUND_MS = 45_000
/** The bystanders' edit latency, p99. */
const P99_BOUND_MS = 5000
/** The slowest /healthz answer during the storm (it is polled every 100 ms, each with this deadline). */
const HEALTH_BOUND_MS = 5000

const { start, stop, stopAll } = fleet()
const lean = new LeanFleet()
const stock: TestClient[] = []
let redis: RedisProcess | undefined
afterAll(async () => {
  lean.closeAll()
  for (const c of stock) c.destroy()
  await stopAll()
  await redis?.stop()
})

describe('a reconnect storm', () => {
  it(`${CLIENTS.toLocaleString('en')} clients on ${DOCUMENTS} documents lose their instance and reconnect to another within a second: all synced again, /healthz answering, bystanders' p99 bounded`, async () => {
    redis = await startRedis()
    // The budgets under test are the defaults; only the per-address connection count is the clients' own business.
    const env = { REDIS_URL: redis.url }
    const [a, b] = await Promise.all([start(env), start(env)])
    const defaults = loadConfig({})

    // Documents with some content, so that a reconnecting client has a state to compare.
    const docName = (d: number): string => `storm/doc-${d}`
    await Promise.all(Array.from({ length: DOCUMENTS }, async (_, d) => {
      const seed = new Y.Doc()
      seed.getText('t').insert(0, `document ${d} `.repeat(50))
      const res = await fetch(`${a.url}/api/documents/${encodeURIComponent(docName(d))}/updates`, { method: 'POST', body: Y.encodeStateAsUpdate(seed).slice() })
      expect(res.status).toBe(200)
    }))

    let target = a.wsUrl
    for (let i = 0; i < CLIENTS; i++) {
      lean.add({ target: () => target, doc: docName(i % DOCUMENTS), localAddress: loopbackAddress(i, ADDRESSES), mirror: true })
    }
    const connectStarted = performance.now()
    await lean.every((c) => c.synced, 'every client to sync with instance A', 60_000)
    const connectMs = performance.now() - connectStarted

    // The bystanders: two editors of another document, already on B.
    const writer = connectClient(b.wsUrl, 'storm/bystanders')
    const reader = connectClient(b.wsUrl, 'storm/bystanders')
    stock.push(writer, reader)
    await Promise.all([whenSynced(writer, 'the bystander writer to sync'), whenSynced(reader, 'the bystander reader to sync')])
    const before = await readMetrics(b.url)
    const health = probeHealth(`${b.url}/healthz`, 100, HEALTH_BOUND_MS)
    const latency = probeEditLatency(writer, reader)
    const accepted = sampleMetric(b.url, 'quire_connections_accepted_total')

    // The storm: A dies; every client comes back within a second (its first retry), to B.
    target = b.wsUrl
    const killed = performance.now()
    await stop(a)
    await lean.every((c) => c.synced, 'every client to sync again with instance B', RESYNC_BOUND_MS)
    const resyncMs = performance.now() - killed

    const [healthFigures, latencies, samples] = await Promise.all([health.stop(), latency.stop(), accepted.stop()])
    const after = await readMetrics(b.url)
    const refused = (limit: string): number => (after.get(`quire_limit_refusals_total{limit="${limit}"}`) ?? 0) - (before.get(`quire_limit_refusals_total{limit="${limit}"}`) ?? 0)
    const figures = {
      clients: CLIENTS,
      documents: DOCUMENTS,
      initialConnectMs: Math.round(connectMs),
      allSyncedAgainMs: Math.round(resyncMs),
      refusedInstanceRate: refused('new_connections'),
      refusedAddressRate: refused('new_connections_per_ip'),
      peakAcceptedPerSecond: Math.round(peakRate(samples)),
      closesByCode: lean.closesByCode(),
      connectionErrors: lean.errorsByMessage(),
      healthz: { answers: healthFigures.answers, failures: healthFigures.failures.length, slowestMs: Math.round(healthFigures.maxMs) },
      bystanders: { edits: latencies.length, p50Ms: Math.round(percentile(latencies, 50)), p99Ms: Math.round(percentile(latencies, 99)), maxMs: Math.round(Math.max(...latencies)) },
    }
    console.log(`reconnect storm: ${JSON.stringify(figures)}`)

    expect(lean.count((c) => c.stoppedBy !== null), 'clients that gave up').toBe(0)
    expect(lean.count((c) => c.syncs < 2), 'clients that never synced again').toBe(0)
    // Every client has its document (nothing was lost with A; the content was durable).
    expect(lean.count((c) => !c.text.startsWith('document ')), 'clients without their document').toBe(0)
    expect(healthFigures.failures).toEqual([])
    expect(healthFigures.answers).toBeGreaterThan(0)
    expect(latencies.length).toBeGreaterThan(10)
    expect(percentile(latencies, 99)).toBeLessThan(P99_BOUND_MS)
    // B admitted no faster than its bucket allows (the sampling itself adds a little). Whether it
    // had to refuse anyone depends on how fast this process manages to reconnect 2,000 clients
    // (on an idle machine it does: about 150 are told to come back later); printed above.
    expect(bucketExcess(samples, defaults.MAX_NEW_CONNECTIONS_PER_SECOND, defaults.MAX_NEW_CONNECTIONS_BURST, defaults.MAX_NEW_CONNECTIONS_PER_SECOND * 0.2)).toBeLessThanOrEqual(0)
  }, 120_000)
})
