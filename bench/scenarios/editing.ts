/**
 * Idle memory, fixed load and saturation, run on one set of connections per
 * server: DOCS documents × (1 writer + READERS readers). All servers of a
 * group are up at once and their measurement windows take turns (Quire,
 * peer, peer, Quire, …), so a burst of other work on the shared machine
 * falls on every server alike instead of on whichever ran at that moment.
 *
 * Idle memory is read once a server's connections are all open and quiet.
 * The fixed load is measured in several windows per server (medians
 * reported); then the rate is raised step by step, every server in turn,
 * until p99 passes the limit or delivery drops below the floor.
 */
import { config } from '../config.js'
import { BenchClient } from '../clients/client.js'
import type { ServerUnderTest } from '../servers/server.js'
import { sampleTrees } from '../proc-stats.js'
import { machineQuiet, waitQuiet } from '../meter.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { median } from '../stats.js'
import { figure, unavailable, type ScenarioResult } from '../results.js'
import { EditLoad, type WindowStats } from './edit-load.js'

export interface EditingPlan { idle: boolean, fixed: boolean, saturation: boolean }

/** Warm-up of a server's writers before its window opens (the others are paused meanwhile). */
const TURN_WARMUP_MS = 1000

async function rssNow (server: ServerUnderTest): Promise<number> {
  const readings: number[] = []
  for (let i = 0; i < 3; i++) {
    readings.push(sampleTrees(server.pids()).rssBytes)
    await sleep(200)
  }
  return median(readings)
}

const passes = (s: { p99: number, deliveredShare: number }): boolean =>
  s.p99 <= config.saturationP99Ms && s.deliveredShare >= config.saturationMinDelivery

export const fixedName = (server: ServerUnderTest): string =>
  server.instances.length > 1 ? 'fixed load, two instances' : 'fixed load'

interface Turn { server: ServerUnderTest, load: EditLoad }

/** One measured window of `turn` at `rate` edits/s per writer. */
async function measure (turn: Turn, rate: number, seconds: number): Promise<number> {
  turn.load.run(rate)
  await sleep(TURN_WARMUP_MS)
  const w = turn.load.openWindow()
  await sleep(seconds * 1000)
  turn.load.closeWindow()
  turn.load.stop()
  return w
}

export async function runEditing (servers: ServerUnderTest[], plan: EditingPlan): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = []
  const turns: Turn[] = []
  try {
    for (const server of servers) {
      try {
        const load = await connect(server, plan, results)
        turns.push({ server, load })
      } catch (err) {
        const reason = (err as Error).message.slice(0, 300)
        for (const name of names(server, plan)) results.push(unavailable(name, server.kind, 'failed', reason))
      }
    }
    if (!plan.fixed && !plan.saturation) return results

    const windows = new Map<Turn, number[]>(turns.map((t) => [t, []]))
    for (let w = 0; w < config.windows; w++) {
      for (const t of turns) windows.get(t)!.push(await measure(t, config.editsPerSecond, config.windowSeconds))
    }
    await sleep(config.graceSeconds * 1000)
    if (plan.fixed) {
      for (const t of turns) results.push(fixedResult(t.server, windows.get(t)!.map((w) => t.load.stats(w)), t.load.lostConnections))
    }
    if (plan.saturation) results.push(...await saturate(turns))
    return results
  } finally {
    for (const t of turns) t.load.close()
  }
}

function names (server: ServerUnderTest, plan: EditingPlan): string[] {
  return [...(plan.idle ? ['idle memory'] : []), ...(plan.fixed ? [fixedName(server)] : []), ...(plan.saturation ? ['saturation'] : [])]
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
    await load.connect(config.docs, config.readersPerDoc)
    const connectSeconds = (performance.now() - connectStarted) / 1000
    if (plan.idle) {
      await sleep(config.idleSettleSeconds * 1000)
      await waitQuiet(pids)
      const rssAfter = await rssNow(server)
      const connections = load.connections
      results.push({
        scenario: 'idle memory',
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

/**
 * Raise the per-writer rate step by step from the fixed rate, every server
 * in turn. A step that misses the limits is run once more, after the other
 * servers' turns and once the machine is quiet (or 10 s have passed), before
 * it counts as failed: one burst of other work must not end a climb.
 */
async function saturate (turns: Turn[]): Promise<ScenarioResult[]> {
  const best = new Map<Turn, WindowStats | null>(turns.map((t) => [t, null]))
  const steps = new Map<Turn, string[]>(turns.map((t) => [t, []]))
  const stoppedBusy = new Map<Turn, number>()
  const attempt = async (t: Turn, rate: number, again: boolean): Promise<boolean> => {
    const w = await measure(t, rate, config.saturationStepSeconds)
    await sleep(config.graceSeconds * 1000)
    const s = t.load.stats(w)
    const passed = passes(s)
    steps.get(t)!.push(`${rate.toFixed(0)}/s per writer${again ? ' (again)' : ''}: p99 ${s.p99.toFixed(0)} ms, ${(s.deliveredShare * 100).toFixed(1)} %, ` +
      `server ${s.cpu.serverCores.toFixed(2)} / load generator ${s.cpu.loadgenCores.toFixed(2)} / other ${s.cpu.foreignCores.toFixed(2)} cores`)
    if (passed) {
      best.set(t, s)
      stoppedBusy.delete(t)
    } else {
      stoppedBusy.set(t, s.cpu.foreignCores)
    }
    return passed
  }
  let climbing = [...turns]
  for (let step = 0; step <= config.saturationMaxSteps && climbing.length > 0; step++) {
    const rate = config.editsPerSecond * config.saturationFactor ** step
    const failed: Turn[] = []
    for (const t of climbing) if (!await attempt(t, rate, false)) failed.push(t)
    const out = new Set<Turn>()
    for (const t of failed) {
      await machineQuiet(10_000)
      if (!await attempt(t, rate, true)) out.add(t)
    }
    climbing = climbing.filter((t) => !out.has(t))
  }
  return turns.map((t) => {
    const r = saturationResult(t.server, best.get(t)!, steps.get(t)!)
    const busy = stoppedBusy.get(t)
    if (busy !== undefined && busy > 0.3) r.notes!.unshift(`its last step ran while other work took ${busy.toFixed(2)} cores: the rate is uncertain`)
    return r
  })
}

function fixedResult (server: ServerUnderTest, windows: WindowStats[], lost: number): ScenarioResult {
  const pick = (f: (s: WindowStats) => number): number[] => windows.map(f)
  const notes = [`${windows.length} windows of ${config.windowSeconds} s, taking turns with the other servers; medians of the windows (max: the largest)`]
  if (lost > 0) notes.push(`${lost} connections closed by the server during the run`)
  return {
    scenario: fixedName(server),
    server: server.kind,
    status: 'ok',
    figures: {
      p50: figure('p50 latency', 'ms', 'lower', pick((s) => s.p50)),
      p99: figure('p99 latency', 'ms', 'lower', pick((s) => s.p99)),
      max: figure('max latency', 'ms', 'lower', [Math.max(...pick((s) => s.max))]),
      delivered: figure('delivered', '%', 'higher', pick((s) => s.deliveredShare * 100), 2),
      cpuPerDelivery: figure('server CPU per delivered update', 'µs', 'lower', pick((s) => s.cpuUsPerDelivery)),
      serverCores: figure('server CPU', 'cores', 'lower', pick((s) => s.cpu.serverCores), 2),
      deliveriesPerSecond: figure('deliveries', '/s', 'higher', pick((s) => s.deliveriesPerSecond), 0),
    },
    foreignCores: median(pick((s) => s.cpu.foreignCores)),
    loadgenCores: median(pick((s) => s.cpu.loadgenCores)),
    notes,
  }
}

function saturationResult (server: ServerUnderTest, best: WindowStats | null, steps: string[]): ScenarioResult {
  if (best === null) {
    return { scenario: 'saturation', server: server.kind, status: 'ok', figures: {}, notes: ['even the first step missed the limits', ...steps] }
  }
  return {
    scenario: 'saturation',
    server: server.kind,
    status: 'ok',
    figures: {
      rate: figure('highest sustained edit rate', 'edits/s', 'higher', [best.sendsPerSecond], 0),
      deliveries: figure('deliveries there', '/s', 'higher', [best.deliveriesPerSecond], 0),
      cpuPerDelivery: figure('server CPU per delivery there', 'µs', 'lower', [best.cpuUsPerDelivery]),
      p99: figure('p99 there', 'ms', 'lower', [best.p99]),
    },
    foreignCores: best.cpu.foreignCores,
    loadgenCores: best.cpu.loadgenCores,
    notes: steps,
  }
}
