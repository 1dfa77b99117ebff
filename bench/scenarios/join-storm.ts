/**
 * Join storms on big documents, right after a restart (docs/benchmarks.md,
 * "Join storms"):
 *
 * - join: STORM_CLIENTS clients join one cold document of STORM_DOC_MB
 *   within STORM_SPREAD_S (connection starts spread evenly);
 * - rejoin: REJOIN_CLIENTS clients rejoin REJOIN_DOCS documents of
 *   REJOIN_DOC_KB all at once, as every client of a restarted server does.
 *
 * Every document is written through the server's own protocol and persisted
 * (the server is stopped with SIGTERM and started again), so the storm meets
 * a cold server. A client is synced once it has had the server's sync step 2
 * and at least half the document's encoded size in sync messages (servers
 * re-encode a document; the reference server answers before its store has
 * loaded and sends the state after). Reported per server: time until each
 * client is synced (p50, p99, max) and until all are, the server's peak RSS
 * (VmHWM, which the restart resets) and the clients dropped (refused, closed
 * by the server, or not synced within STORM_TIMEOUT_S). One client's state
 * is decoded and checked against the document.
 */
import * as Y from 'yjs'
import { config } from '../config.js'
import { BenchClient } from '../clients/client.js'
import type { ServerUnderTest } from '../servers/server.js'
import { peakRssBytes } from '../proc-stats.js'
import { waitQuiet } from '../meter.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { Samples, percentile } from '../stats.js'
import { figure, unavailable, type ScenarioResult } from '../results.js'
import { sizedDoc, TEXT_NAME } from '../large-doc.js'
import { writeDocument } from './seed.js'

interface Storm {
  name: string
  docs: string[]
  clients: number
  /** Connection starts are spread evenly over this many ms (0: all at once). */
  spreadMs: number
  update: Uint8Array
}

export function stormNames (): [join: string, rejoin: string] {
  const c = config
  return [
    `join storm: ${c.stormClients} clients, one cold ${c.stormDocMiB} MiB document`,
    `rejoin storm: ${c.rejoinClients} clients, ${c.rejoinDocs} cold documents of ${c.rejoinDocKiB} KiB`,
  ]
}

function storms (): Storm[] {
  const [join, rejoin] = stormNames()
  const c = config
  return [
    { name: join, docs: ['storm-big'], clients: c.stormClients, spreadMs: c.stormSpreadSeconds * 1000, update: sizedDoc(Math.round(c.stormDocMiB * 2 ** 20)) },
    { name: rejoin, docs: Array.from({ length: c.rejoinDocs }, (_, d) => `rejoin-${d}`), clients: c.rejoinClients, spreadMs: 0, update: sizedDoc(Math.round(c.rejoinDocKiB * 1024)) },
  ]
}

/** Bytes of sync messages a client has from the server, and whether its sync step 2 came. */
interface Joiner { started: number, bytes: number, step2: boolean, syncedMs: number, failed: string | null, client: BenchClient | null, kept: Uint8Array[] | null }

async function seedAll (server: ServerUnderTest, storm: Storm): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < storm.docs.length) await writeDocument(server, storm.docs[next++], storm.update)
  }
  await Promise.all(Array.from({ length: Math.min(8, storm.docs.length) }, worker))
}

async function runStorm (server: ServerUnderTest, storm: Storm, expectedLength: number): Promise<ScenarioResult> {
  await server.restart()
  const threshold = storm.update.length / 2
  const joiners: Joiner[] = []
  const started = performance.now()
  const timeoutMs = config.stormTimeoutSeconds * 1000
  let pending = storm.clients
  let allDone!: () => void
  const done = new Promise<void>((resolve) => { allDone = resolve })
  const finish = (j: Joiner, failed: string | null): void => {
    if (j.syncedMs >= 0 || j.failed !== null) return
    if (failed === null) j.syncedMs = performance.now() - j.started
    else j.failed = failed
    if (--pending === 0) allDone()
  }
  const check = (j: Joiner): void => { if (j.step2 && j.bytes >= threshold) finish(j, null) }
  const join = (i: number): void => {
    const j: Joiner = { started: performance.now(), bytes: 0, step2: false, syncedMs: -1, failed: null, client: null, kept: i === 0 ? [] : null }
    joiners.push(j)
    BenchClient.connect({
      wire: server.wire,
      base: server.instances[i % server.instances.length].url,
      doc: storm.docs[i % storm.docs.length],
      timeoutMs,
      handlers: {
        onStep2: (u) => { j.step2 = true; j.bytes += u.length; j.kept?.push(u.slice()); check(j) },
        onUpdate: (frame, start, end) => { j.bytes += end - start; j.kept?.push(frame.subarray(start, end).slice()); check(j) },
        onClose: (code) => { if (j.syncedMs < 0) finish(j, `closed with ${code}`); else j.failed = `closed with ${code} after syncing` },
      },
    }).then((c) => { j.client = c }, (err: Error) => finish(j, err.message.slice(0, 80)))
  }
  let peak = 0
  const sampler = setInterval(() => { peak = Math.max(peak, peakRssBytes(server.pids())) }, 200)
  try {
    for (let i = 0; i < storm.clients; i++) {
      const due = started + storm.spreadMs * i / storm.clients
      const wait = due - performance.now()
      if (wait > 1) await sleep(wait)
      join(i)
    }
    await Promise.race([done, sleep(Math.max(0, started + timeoutMs - performance.now()))])
    // Clients cut off just after their sync are dropped too.
    await sleep(500)
    peak = Math.max(peak, peakRssBytes(server.pids()))
  } finally {
    clearInterval(sampler)
    for (const j of joiners) j.client?.close()
  }
  const allMs = performance.now() - started
  const times = new Samples()
  let lastSynced = 0
  const reasons = new Map<string, number>()
  for (const j of joiners) {
    if (j.failed === null && j.syncedMs < 0) j.failed = `not synced within ${config.stormTimeoutSeconds} s`
    if (j.failed !== null) {
      reasons.set(j.failed, (reasons.get(j.failed) ?? 0) + 1)
      continue
    }
    times.push(j.syncedMs)
    lastSynced = Math.max(lastSynced, j.started - started + j.syncedMs)
  }
  const dropped = storm.clients - times.length
  const sorted = times.sorted()
  const notes = [
    `${storm.clients} clients, ${storm.docs.length} document(s) of ${(storm.update.length / 2 ** 20).toFixed(2)} MiB encoded, ` +
    (storm.spreadMs > 0 ? `joining within ${storm.spreadMs / 1000} s` : 'all joining at once') + `, right after a restart; ${(allMs / 1000).toFixed(1)} s in all`,
    `peak RSS: VmHWM of every server process${server.redis ? ' (Redis included, since its start)' : ''}`,
  ]
  const kept = joiners[0]?.kept
  if (kept && joiners[0].syncedMs >= 0) notes.push(`a client's state decoded: ${contentCheck(kept, expectedLength)}`)
  if (reasons.size > 0) notes.push(`dropped: ${[...reasons].map(([r, n]) => `${n} ${r}`).join(', ')}`)
  return {
    scenario: storm.name,
    server: server.kind,
    status: 'ok',
    figures: {
      syncP50: figure('p50 time to synced', 'ms', 'lower', [percentile(sorted, 50)], 0),
      syncP99: figure('p99 time to synced', 'ms', 'lower', [percentile(sorted, 99)], 0),
      syncMax: figure('max time to synced', 'ms', 'lower', [sorted.length ? sorted[sorted.length - 1] : NaN], 0),
      allSynced: figure('until every client is synced', 'ms', 'lower', [dropped === 0 ? lastSynced : NaN], 0),
      peakRss: figure('server peak RSS', 'MiB', 'lower', [peak / 2 ** 20], 0),
      dropped: figure('clients dropped', '', 'lower', [dropped], 0),
    },
    notes,
  }
}

/** Whether the sync messages one client got make the whole document. */
function contentCheck (updates: Uint8Array[], expectedLength: number): string {
  const doc = new Y.Doc()
  try {
    for (const u of updates) Y.applyUpdate(doc, u)
    const length = doc.getText(TEXT_NAME).length
    return length === expectedLength ? `all ${length.toLocaleString('en')} characters` : `WRONG: ${length} of ${expectedLength} characters`
  } finally {
    doc.destroy()
  }
}

function textLength (update: Uint8Array): number {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, update)
  const n = doc.getText(TEXT_NAME).length
  doc.destroy()
  return n
}

/** Seed every server, then each storm on each server in turn, a restart before each. */
export async function runStorms (servers: ServerUnderTest[], log: (m: string) => void): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = []
  for (const storm of storms()) {
    const expected = textLength(storm.update)
    for (const server of servers) {
      try {
        await seedAll(server, storm)
        // Servers that store after a debounce or when a document unloads (Hocuspocus) get time to.
        await sleep(1500)
        const r = await runStorm(server, storm, expected)
        log(`${storm.name} / ${server.kind}: ${Object.values(r.figures).map((f) => `${f.label} ${f.values[0].toFixed(0)}`).join(', ')}`)
        results.push(r)
      } catch (err) {
        results.push(unavailable(storm.name, server.kind, 'failed', (err as Error).message.slice(0, 200)))
      }
      await waitQuiet(() => server.pids(), 5000)
    }
  }
  return results
}
