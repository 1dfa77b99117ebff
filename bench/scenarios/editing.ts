/**
 * Idle memory, fixed load and saturation, run on one set of connections:
 * DOCS documents × (1 writer + READERS readers). Idle memory is read once
 * they are all connected and quiet; then the writers start at the fixed rate
 * (measured in several windows, medians reported), then the rate is raised
 * step by step until p99 passes the limit or delivery drops below the floor.
 */
import { config } from '../config.js'
import { BenchClient } from '../clients/client.js'
import type { ServerUnderTest } from '../servers/server.js'
import { sampleTrees } from '../proc-stats.js'
import { waitQuiet } from '../meter.js'
import { sleep } from '../processes.js'
import { median } from '../stats.js'
import { figure, type ScenarioResult } from '../results.js'
import { EditLoad, type WindowStats } from './edit-load.js'

export interface EditingPlan { idle: boolean, fixed: boolean, saturation: boolean }

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

export async function runEditing (server: ServerUnderTest, plan: EditingPlan): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = []
  const pids = (): number[] => server.pids()
  const crossInstance = server.instances.length > 1
  const fixedName = crossInstance ? 'fixed load, two instances' : 'fixed load'

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
    const connections = load.connections

    if (plan.idle) {
      await sleep(config.idleSettleSeconds * 1000)
      await waitQuiet(pids)
      const rssAfter = await rssNow(server)
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
    if (!plan.fixed && !plan.saturation) return results

    load.run(config.editsPerSecond)
    await sleep(config.warmupSeconds * 1000)
    const windows: number[] = []
    for (let w = 0; w < config.windows; w++) {
      windows.push(load.openWindow())
      await sleep(config.windowSeconds * 1000)
    }
    load.closeWindow()
    load.stop()
    await sleep(config.graceSeconds * 1000)
    const fixed = windows.map((w) => load.stats(w))
    if (plan.fixed) results.push(fixedResult(server, fixedName, fixed, load.lostConnections))

    if (plan.saturation) results.push(await saturate(server, load))
    return results
  } finally {
    load.close()
  }
}

/**
 * Raise the per-writer rate step by step from the fixed rate. A step that
 * misses the limits is run once more before it counts as failed, so one
 * burst of other work on the shared machine does not end the climb.
 */
async function saturate (server: ServerUnderTest, load: EditLoad): Promise<ScenarioResult> {
  let best: WindowStats | null = null
  const steps: string[] = []
  for (let step = 0; step <= config.saturationMaxSteps; step++) {
    const rate = config.editsPerSecond * config.saturationFactor ** step
    let passed = false
    for (let attempt = 0; attempt < 2 && !passed; attempt++) {
      load.run(rate)
      await sleep(500)
      const w = load.openWindow()
      await sleep(config.saturationStepSeconds * 1000)
      load.closeWindow()
      load.stop()
      await sleep(config.graceSeconds * 1000)
      const s = load.stats(w)
      passed = passes(s)
      steps.push(`${rate.toFixed(0)}/s per writer${attempt ? ' (again)' : ''}: p99 ${s.p99.toFixed(0)} ms, ${(s.deliveredShare * 100).toFixed(1)} %, ` +
        `server ${s.cpu.serverCores.toFixed(2)} / load generator ${s.cpu.loadgenCores.toFixed(2)} / other ${s.cpu.foreignCores.toFixed(2)} cores`)
      if (passed) best = s
    }
    if (!passed) break
  }
  return saturationResult(server, best, steps)
}

function fixedResult (server: ServerUnderTest, scenario: string, windows: WindowStats[], lost: number): ScenarioResult {
  const pick = (f: (s: WindowStats) => number): number[] => windows.map(f)
  const notes = [`${windows.length} windows of ${config.windowSeconds} s; medians of the windows (max: the largest)`]
  if (lost > 0) notes.push(`${lost} connections closed by the server during the run`)
  return {
    scenario,
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
