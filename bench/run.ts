/**
 * `npm run bench`: starts the servers of a group (the single instances, then
 * the two-instance Redis setups), each in its own process, runs the
 * scenarios against them from this process (the load generator), stops
 * them, and finally prints the report and writes it to docs/benchmarks.md.
 *
 * Within a group the servers take turns measurement by measurement, so the
 * noise of a shared machine falls on all of them alike. The run is bounded:
 * a step that would overrun the budget is reported as skipped, and a
 * watchdog writes what there is and exits if something hangs.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { config, type ScenarioName, type ServerKind } from './config.js'
import { fromRoot } from '../harness/paths.js'
import { machineInfo } from './machine.js'
import { renderReport } from './report.js'
import { unavailable, type ScenarioResult } from './results.js'
import type { ServerUnderTest } from './servers/server.js'
import { startQuire, startQuireRedis, benchLimitsEnv } from './servers/quire.js'
import { startScriptNodeArgs } from '../harness/quire.js'
import { startHocuspocus, startHocuspocusRedis } from './servers/hocuspocus.js'
import { startYWebsocket } from './servers/y-websocket.js'
import { runEditing } from './scenarios/editing.js'
import { runPresence } from './scenarios/presence.js'
import { runColdLoad } from './scenarios/cold-load.js'
import { runRedisMemory } from './scenarios/redis-memory.js'
import { largeDoc } from './large-doc.js'
import { waitQuiet } from './meter.js'

const STARTERS: Record<ServerKind, () => Promise<ServerUnderTest>> = {
  quire: startQuire,
  hocuspocus: startHocuspocus,
  'y-websocket': startYWebsocket,
  'quire-redis': startQuireRedis,
  'hocuspocus-redis': startHocuspocusRedis,
}

interface Group { kinds: ServerKind[], scenarios: ScenarioName[] }

const GROUPS: Group[] = [
  { kinds: ['quire', 'hocuspocus', 'y-websocket'], scenarios: ['idle', 'fixed', 'saturation', 'presence', 'cold'] },
  { kinds: ['quire-redis', 'hocuspocus-redis'], scenarios: ['redis-memory', 'fixed'] },
]

/** Report names of a scenario for a server kind (presence has one per size). */
function scenarioNames (s: ScenarioName, kind: ServerKind): string[] {
  switch (s) {
    case 'idle': return ['idle memory']
    case 'fixed': return [kind.endsWith('-redis') ? 'fixed load, two instances' : 'fixed load']
    case 'saturation': return ['saturation']
    case 'presence': return config.presenceSizes.map((n) => `presence storm, ${n} clients`)
    case 'cold': return ['cold load']
    case 'redis-memory': return ['Redis memory per document']
  }
}

/** Rough seconds a scenario takes per server, to skip what would overrun the budget. */
function estimateSeconds (s: ScenarioName): number {
  const c = config
  switch (s) {
    case 'idle': return 6 + c.idleSettleSeconds
    case 'fixed': return c.windows * (c.windowSeconds + 1) + 2
    case 'saturation': return (c.saturationMaxSteps + 1) * (c.saturationStepSeconds + c.graceSeconds + 1) * 0.6
    case 'presence': return c.presenceSizes.reduce((t, n) => t + 6 + n / 200 + c.presenceSeconds + c.graceSeconds, 0)
    case 'cold': return 3 + c.coldRepeats * 3
    case 'redis-memory': return 15
  }
}

const started = Date.now()
const startedAt = new Date()
const elapsed = (): number => (Date.now() - started) / 1000
const results: ScenarioResult[] = []
const machine = machineInfo()

function log (message: string): void {
  process.stderr.write(`[bench ${elapsed().toFixed(0).padStart(3)} s] ${message}\n`)
}

const firstLine = (err: unknown): string => (err as Error).message.split('\n')[0].slice(0, 300)

function writeReport (): string {
  const report = renderReport({ machine, startedAt, seconds: elapsed(), quireEnv: benchLimitsEnv(), quireNodeArgs: [...startScriptNodeArgs(), ...config.quireNodeArgs] }, results)
  mkdirSync(fromRoot('docs'), { recursive: true })
  writeFileSync(fromRoot('docs', 'benchmarks.md'), report + '\n')
  return report
}

// If something hangs past the budget, report what there is and stop (children are killed on exit).
const watchdog = setTimeout(() => {
  log('budget exceeded by more than 60 s: writing a partial report')
  results.push(unavailable('watchdog', 'quire', 'failed', 'the run was stopped by its watchdog'))
  process.stdout.write(writeReport() + '\n')
  process.exit(1)
}, (config.budgetSeconds + 60) * 1000)

interface Step {
  label: string
  scenarios: ScenarioName[]
  run: (servers: ServerUnderTest[]) => Promise<ScenarioResult[]>
}

/** Run a per-server scenario on each server in turn; a failure is that server's result. */
async function eachServer (servers: ServerUnderTest[], name: string, run: (s: ServerUnderTest) => Promise<ScenarioResult>): Promise<ScenarioResult[]> {
  const res: ScenarioResult[] = []
  for (const server of servers) {
    try {
      res.push(await run(server))
    } catch (err) {
      res.push(unavailable(name, server.kind, 'failed', firstLine(err)))
    }
  }
  return res
}

/** A group's wanted scenarios as steps; idle, fixed and saturation share one set of connections. */
function steps (group: Group): Step[] {
  const wanted = group.scenarios.filter((s) => config.scenarios.includes(s))
  const out: Step[] = []
  const editing = (['idle', 'fixed', 'saturation'] as const).filter((e) => wanted.includes(e))
  for (const s of wanted) {
    if (s === 'idle' || s === 'fixed' || s === 'saturation') {
      if (s !== editing[0]) continue
      const plan = { idle: editing.includes('idle'), fixed: editing.includes('fixed'), saturation: editing.includes('saturation') }
      out.push({ label: editing.join(' + '), scenarios: [...editing], run: (servers) => runEditing(servers, plan) })
    } else if (s === 'presence') {
      out.push({
        label: 'presence',
        scenarios: [s],
        run: async (servers) => {
          const res: ScenarioResult[] = []
          for (const n of config.presenceSizes) {
            res.push(...await eachServer(servers, `presence storm, ${n} clients`, async (server) => {
              await waitQuiet(() => server.pids(), 3000)
              return runPresence(server, n)
            }))
          }
          return res
        },
      })
    } else if (s === 'cold') {
      out.push({ label: 'cold load', scenarios: [s], run: (servers) => runColdLoad(servers) })
    } else if (s === 'redis-memory') {
      out.push({ label: 'Redis memory', scenarios: [s], run: (servers) => eachServer(servers, 'Redis memory per document', runRedisMemory) })
    }
  }
  return out
}

function mark (kinds: ServerKind[], scenarios: ScenarioName[], status: 'not available' | 'failed' | 'skipped', reason: string): void {
  for (const kind of kinds) {
    const done = new Set(results.filter((r) => r.server === kind).map((r) => r.scenario))
    for (const s of scenarios) {
      for (const name of scenarioNames(s, kind)) if (!done.has(name)) results.push(unavailable(name, kind, status, reason))
    }
  }
}

async function runGroup (group: Group): Promise<void> {
  const kinds = group.kinds.filter((k) => config.servers.includes(k))
  const todo = steps(group)
  if (kinds.length === 0 || todo.length === 0) return
  const servers: ServerUnderTest[] = []
  try {
    for (const kind of kinds) {
      log(`starting ${kind}`)
      try {
        servers.push(await STARTERS[kind]())
      } catch (err) {
        log(`${kind} not available: ${firstLine(err)}`)
        mark([kind], todo.flatMap((t) => t.scenarios), 'not available', firstLine(err))
      }
    }
    if (servers.length === 0) return
    for (const step of todo) {
      const need = step.scenarios.reduce((t, s) => t + estimateSeconds(s), 0) * servers.length
      if (elapsed() + need > config.budgetSeconds) {
        mark(servers.map((s) => s.kind), step.scenarios, 'skipped', 'time budget of the run used up')
        continue
      }
      log(`${step.label}: ${servers.map((s) => s.kind).join(', ')}`)
      try {
        for (const s of servers) await waitQuiet(() => s.pids(), 3000)
        results.push(...await step.run(servers))
      } catch (err) {
        log(`${step.label} failed: ${firstLine(err)}`)
      }
      mark(servers.map((s) => s.kind), step.scenarios, 'failed', 'no result (see the log)')
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }
}

async function main (): Promise<void> {
  log(`machine: ${machine.cores} cores, ${machine.cpuModel}; budget ${config.budgetSeconds} s`)
  if (config.scenarios.includes('cold')) {
    const doc = largeDoc(config.coldEdits)
    log(`large document: ${(doc.update.length / 2 ** 20).toFixed(2)} MiB ${doc.generated ? `generated in ${(doc.generateMs / 1000).toFixed(1)} s` : 'from cache'}`)
  }
  for (const group of GROUPS) await runGroup(group)
  clearTimeout(watchdog)
  process.stdout.write(writeReport() + '\n')
  log(`done in ${elapsed().toFixed(0)} s; written to docs/benchmarks.md`)
  process.exit(0)
}

main().catch((err) => {
  log(`bench failed: ${(err as Error).stack ?? String(err)}`)
  process.stdout.write(writeReport() + '\n')
  process.exit(1)
})
