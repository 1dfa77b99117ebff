/**
 * `npm run bench`: starts each server in its own process, runs the scenarios
 * against it from this process (the load generator), stops it, and finally
 * prints the report and writes it to docs/benchmarks.md. Bounded by a wall
 * clock budget: a scenario that would not fit is reported as skipped, and a
 * watchdog writes what there is and exits if something hangs.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { config, type ScenarioName, type ServerKind } from './config.js'
import { fromRoot } from './paths.js'
import { machineInfo } from './machine.js'
import { renderReport } from './report.js'
import { unavailable, type ScenarioResult } from './results.js'
import type { ServerUnderTest } from './servers/server.js'
import { startQuire, startQuireRedis, rateLimitEnv } from './servers/quire.js'
import { startHocuspocus, startHocuspocusRedis } from './servers/hocuspocus.js'
import { startYWebsocket } from './servers/y-websocket.js'
import { runEditing } from './scenarios/editing.js'
import { runPresence } from './scenarios/presence.js'
import { runColdLoad } from './scenarios/cold-load.js'
import { runRedisMemory } from './scenarios/redis-memory.js'
import { largeDoc } from './large-doc.js'
import { waitQuiet } from './meter.js'

interface Plan {
  kind: ServerKind
  start: () => Promise<ServerUnderTest>
  scenarios: ScenarioName[]
}

const SINGLE: ScenarioName[] = ['idle', 'fixed', 'saturation', 'presence', 'cold']
const PAIR: ScenarioName[] = ['redis-memory', 'fixed']

const PLANS: Plan[] = [
  { kind: 'quire', start: startQuire, scenarios: SINGLE },
  { kind: 'hocuspocus', start: startHocuspocus, scenarios: SINGLE },
  { kind: 'y-websocket', start: startYWebsocket, scenarios: SINGLE },
  { kind: 'quire-redis', start: startQuireRedis, scenarios: PAIR },
  { kind: 'hocuspocus-redis', start: startHocuspocusRedis, scenarios: PAIR },
]

/** Report names of a scenario (presence has one per size). */
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

/** Rough seconds a scenario takes, to skip what would overrun the budget. */
function estimateSeconds (s: ScenarioName): number {
  const c = config
  switch (s) {
    case 'idle': return 10 + c.idleSettleSeconds
    case 'fixed': return 8 + c.warmupSeconds + c.windows * c.windowSeconds + c.graceSeconds
    case 'saturation': return (c.saturationMaxSteps + 1) * (c.saturationStepSeconds + c.graceSeconds + 0.5) * 0.7
    case 'presence': return c.presenceSizes.reduce((t, n) => t + 6 + n / 200 + c.presenceSeconds + c.graceSeconds, 0)
    case 'cold': return 5 + c.coldRepeats * 3
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

function writeReport (): string {
  const report = renderReport({ machine, startedAt, seconds: elapsed(), quireEnv: rateLimitEnv() }, results)
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
  names: string[]
  estimate: number
  run: (server: ServerUnderTest) => Promise<ScenarioResult[]>
}

/** The plan's wanted scenarios as steps; idle, fixed and saturation share one set of connections. */
function steps (plan: Plan): Step[] {
  const wanted = plan.scenarios.filter((s) => config.scenarios.includes(s))
  const editing = { idle: wanted.includes('idle'), fixed: wanted.includes('fixed'), saturation: wanted.includes('saturation') }
  const out: Step[] = []
  let editingAdded = false
  for (const s of wanted) {
    if (s === 'idle' || s === 'fixed' || s === 'saturation') {
      if (editingAdded) continue
      editingAdded = true
      const parts = (['idle', 'fixed', 'saturation'] as const).filter((e) => editing[e])
      out.push({
        label: parts.join(' + '),
        names: parts.flatMap((e) => scenarioNames(e, plan.kind)),
        estimate: parts.reduce((t, e) => t + estimateSeconds(e), 0),
        run: (server) => runEditing(server, editing),
      })
      continue
    }
    out.push({
      label: s,
      names: scenarioNames(s, plan.kind),
      estimate: estimateSeconds(s),
      run: async (server) => {
        switch (s) {
          case 'presence': {
            const res: ScenarioResult[] = []
            for (const n of config.presenceSizes) res.push(await runPresence(server, n))
            return res
          }
          case 'cold': return [await runColdLoad(server)]
          case 'redis-memory': return [await runRedisMemory(server)]
        }
      },
    })
  }
  return out
}

async function runPlan (plan: Plan): Promise<void> {
  const todo = steps(plan)
  if (todo.length === 0) return
  const mark = (names: string[], status: 'not available' | 'failed' | 'skipped', reason: string): void => {
    const done = new Set(results.filter((r) => r.server === plan.kind).map((r) => r.scenario))
    for (const name of names) if (!done.has(name)) results.push(unavailable(name, plan.kind, status, reason))
  }
  if (elapsed() + Math.min(todo[0].estimate, 30) > config.budgetSeconds) {
    mark(todo.flatMap((t) => t.names), 'skipped', 'time budget of the run used up')
    return
  }
  log(`starting ${plan.kind}`)
  let server: ServerUnderTest
  try {
    server = await plan.start()
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0].slice(0, 300)
    log(`${plan.kind} not available: ${reason}`)
    mark(todo.flatMap((t) => t.names), 'not available', reason)
    return
  }
  try {
    for (const step of todo) {
      if (elapsed() + step.estimate > config.budgetSeconds) {
        mark(step.names, 'skipped', 'time budget of the run used up')
        continue
      }
      log(`${plan.kind}: ${step.label}`)
      try {
        await waitQuiet(() => server.pids(), 3000)
        results.push(...await step.run(server))
      } catch (err) {
        const reason = (err as Error).message.split('\n')[0].slice(0, 300)
        log(`${plan.kind}: ${step.label} failed: ${reason}`)
        mark(step.names, 'failed', reason)
      }
    }
  } finally {
    await server.stop()
  }
}

async function main (): Promise<void> {
  log(`machine: ${machine.cores} cores, ${machine.cpuModel}; budget ${config.budgetSeconds} s`)
  if (config.scenarios.includes('cold')) {
    const doc = largeDoc(config.coldEdits)
    log(`large document: ${(doc.update.length / 2 ** 20).toFixed(2)} MiB ${doc.generated ? `generated in ${(doc.generateMs / 1000).toFixed(1)} s` : 'from cache'}`)
  }
  for (const plan of PLANS) {
    if (config.servers.includes(plan.kind)) await runPlan(plan)
  }
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
