/**
 * Idle memory and the fixed load in steady state, run on one set of
 * connections per server: DOCS documents × (1 writer + READERS readers).
 * All servers are up at once; idle memory is read once a server's
 * connections are all open and quiet.
 *
 * The fixed load is measured repetition by repetition, the servers taking
 * turns (relay, y-websocket, …, then again): a turn starts the server's
 * writers, warms up, then measures ONE continuous window of WINDOW_S in
 * which the load runs without a pause; then its writers stop and the next
 * server's start. Only one server is loaded at a time, and work a server
 * does behind the traffic (fsync, LevelDB compaction, Y.Doc compaction, GC)
 * lands in its windows because they are long and continuous
 * (docs/benchmarks.md, "Steady state").
 */
import { config } from '../config.js'
import { BenchClient } from '../clients/client.js'
import type { ServerUnderTest } from '../servers/server.js'
import { sampleTrees } from '../proc-stats.js'
import { waitQuiet } from '../meter.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { median } from '../stats.js'
import { figure, unavailable, type ScenarioResult } from '../results.js'
import { EditLoad, type WindowStats } from './edit-load.js'

export interface EditingPlan { idle: boolean, fixed: boolean }

export const FIXED = 'fixed load, steady state'
export const IDLE = 'idle memory'

async function rssNow (server: ServerUnderTest): Promise<number> {
  const readings: number[] = []
  for (let i = 0; i < 3; i++) {
    readings.push(sampleTrees(server.pids()).rssBytes)
    await sleep(200)
  }
  return median(readings)
}

interface Turn { server: ServerUnderTest, load: EditLoad, windows: WindowStats[] }

/** A server's turn: its writers run through a warm-up and one continuous window, then stop. */
async function turn (t: Turn, warmupSeconds: number, log: (m: string) => void): Promise<void> {
  t.load.run(config.editsPerSecond)
  await sleep(warmupSeconds * 1000)
  const w = await t.load.measure(config.windowSeconds)
  t.load.stop()
  // Deliveries in flight arrive before the next server's load starts.
  await sleep(config.graceSeconds * 1000)
  const s = t.load.stats(w)
  t.windows.push(s)
  log(`${t.server.kind}: ${s.cpuUsPerDelivery.toFixed(1)} µs/delivery, p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, ${s.deliveriesPerSecond.toFixed(0)} deliveries/s, ${(s.deliveredShare * 100).toFixed(2)} % delivered`)
}

export async function runEditing (servers: ServerUnderTest[], plan: EditingPlan, log: (m: string) => void): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = []
  const turns: Turn[] = []
  try {
    for (const server of servers) {
      try {
        const load = await connect(server, plan, results)
        turns.push({ server, load, windows: [] })
      } catch (err) {
        const reason = (err as Error).message.slice(0, 300)
        for (const name of [...(plan.idle ? [IDLE] : []), ...(plan.fixed ? [FIXED] : [])]) results.push(unavailable(name, server.kind, 'failed', reason))
      }
    }
    if (!plan.fixed) return results
    for (let rep = 0; rep < config.windows; rep++) {
      for (const t of turns) await turn(t, rep === 0 ? config.firstWarmupSeconds : config.warmupSeconds, log)
    }
    for (const t of turns) results.push(fixedResult(t.server, t.windows, t.load.lostConnections))
    return results
  } finally {
    for (const t of turns) t.load.close()
  }
}

/** Open a server's connections; measures idle memory on the way when asked. */
async function connect (server: ServerUnderTest, plan: EditingPlan, results: ScenarioResult[]): Promise<EditLoad> {
  const pids = (): number[] => server.pids()
  let rssBefore = 0
  if (plan.idle) {
    // Let the first connection pay for lazy loading and JIT, not the measured ones.
    const warm = await BenchClient.connect({ wire: server.wire, base: server.instances[0].url, doc: 'warmup' })
    warm.close()
    await waitQuiet(pids)
    rssBefore = await rssNow(server)
  }
  const load = new EditLoad(server, 'doc')
  try {
    const connectStarted = performance.now()
    await load.connect({ docs: config.docs, writersPerDoc: 1, readersPerDoc: config.readersPerDoc })
    const connectSeconds = (performance.now() - connectStarted) / 1000
    if (plan.idle) {
      await sleep(config.idleSettleSeconds * 1000)
      await waitQuiet(pids)
      const rssAfter = await rssNow(server)
      const connections = load.connections
      results.push({
        scenario: IDLE,
        server: server.kind,
        status: 'ok',
        figures: {
          perConnection: figure('RSS per connection', 'KiB', 'lower', [(rssAfter - rssBefore) / connections / 1024]),
          before: figure('RSS before', 'MiB', 'lower', [rssBefore / 2 ** 20]),
          after: figure(`RSS with ${connections} connections`, 'MiB', 'lower', [rssAfter / 2 ** 20]),
        },
        notes: [`${connections} connections over ${config.docs} documents, opened in ${connectSeconds.toFixed(1)} s`],
      })
    }
    return load
  } catch (err) {
    load.close()
    throw err
  }
}

/** The figures of a series of windows (steady state and the scale table alike). */
export function loadFigures (windows: WindowStats[]): ScenarioResult['figures'] {
  const pick = (f: (s: WindowStats) => number): number[] => windows.map(f)
  return {
    cpuPerDelivery: figure('server CPU per delivery', 'µs', 'lower', pick((s) => s.cpuUsPerDelivery)),
    p50: figure('p50 latency', 'ms', 'lower', pick((s) => s.p50)),
    p99: figure('p99 latency', 'ms', 'lower', pick((s) => s.p99)),
    deliveriesPerSecond: figure('deliveries', '/s', 'higher', pick((s) => s.deliveriesPerSecond), 0),
    serverCores: figure('server CPU', 'cores', 'lower', pick((s) => s.cpu.serverCores), 2),
    delivered: figure('delivered', '%', 'higher', pick((s) => s.deliveredShare * 100), 2),
    rss: figure('server RSS', 'MiB', 'lower', pick((s) => s.rssBytes / 2 ** 20), 0),
  }
}

function fixedResult (server: ServerUnderTest, windows: WindowStats[], lost: number): ScenarioResult {
  const pick = (f: (s: WindowStats) => number): number[] => windows.map(f)
  const figures = loadFigures(windows)
  if (server.redis) figures.redisCores = figure('of which Redis', 'cores', 'lower', pick((s) => s.cpu.redisUs / 1e6 / s.cpu.seconds), 2)
  figures.max = figure('max latency', 'ms', 'lower', pick((s) => s.max))
  const notes = [`${windows.length} continuous windows of ${config.windowSeconds} s, taking turns with the other servers`]
  if (lost > 0) notes.push(`${lost} connections closed by the server during the run`)
  return {
    scenario: FIXED,
    server: server.kind,
    status: 'ok',
    figures,
    foreignCores: median(pick((s) => s.cpu.foreignCores)),
    loadgenCores: median(pick((s) => s.cpu.loadgenCores)),
    notes,
  }
}
