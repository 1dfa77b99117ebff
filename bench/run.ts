/**
 * `npm run bench`: starts every server under test, each in its own process,
 * runs the scenarios against them from this process (the load generator),
 * stops them, and finally prints the report and writes it to
 * docs/benchmarks.md.
 *
 * All servers are up at once and take turns measurement by measurement, so
 * the noise of a shared machine falls on all of them alike; only the server
 * being measured carries load. The run is bounded: a step that would overrun
 * the budget is reported as skipped, and a watchdog writes what there is and
 * exits if something hangs.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { config, SERVER_KINDS, type ScenarioName, type ServerKind } from './config.js'
import { fromRoot } from '../harness/paths.js'
import { machineInfo } from './machine.js'
import { renderReport } from './report.js'
import { unavailable, type ScenarioResult } from './results.js'
import type { ServerUnderTest } from './servers/server.js'
import { startQuire, startQuireFsync, startQuireRedis, benchLimitsEnv } from './servers/quire.js'
import { startScriptNodeArgs } from '../harness/quire.js'
import { startHocuspocus, startHocuspocusRedis } from './servers/hocuspocus.js'
import { startYWebsocket } from './servers/y-websocket.js'
import { startRawRelay } from './servers/raw-relay-process.js'
import { runEditing, FIXED, IDLE } from './scenarios/editing.js'
import { runPresence } from './scenarios/presence.js'
import { runColdLoad } from './scenarios/cold-load.js'
import { runRedisMemory } from './scenarios/redis-memory.js'
import { runStorms, stormNames } from './scenarios/join-storm.js'
import { runScale, scaleNames } from './scenarios/scale.js'
import { largeDoc } from './large-doc.js'
import { waitQuiet } from './meter.js'

const STARTERS: Record<ServerKind, () => Promise<ServerUnderTest>> = {
  relay: startRawRelay,
  'y-websocket': startYWebsocket,
  hocuspocus: startHocuspocus,
  quire: startQuire,
  'quire-fsync': startQuireFsync,
  'quire-redis': startQuireRedis,
  'hocuspocus-redis': startHocuspocusRedis,
}

const SINGLE: ServerKind[] = ['relay', 'y-websocket', 'hocuspocus', 'quire']

/** Which servers each scenario runs on (the durability variant matters only under load; Redis setups where Redis is the point). */
const KINDS: Record<ScenarioName, readonly ServerKind[]> = {
  idle: SERVER_KINDS,
  fixed: SERVER_KINDS,
  presence: SINGLE,
  cold: SINGLE,
  storm: [...SINGLE, 'quire-redis', 'hocuspocus-redis'],
  scale: config.scaleServers,
  'redis-memory': ['quire-redis', 'hocuspocus-redis'],
}

/** Report names of a scenario for a server kind. */
function scenarioNames (s: ScenarioName): string[] {
  switch (s) {
    case 'idle': return [IDLE]
    case 'fixed': return [FIXED]
    case 'presence': return config.presenceSizes.map((n) => `presence storm, ${n} clients`)
    case 'cold': return ['cold load']
    case 'storm': return stormNames()
    case 'scale': return scaleNames()
    case 'redis-memory': return ['Redis memory per document']
  }
}

/** Rough seconds a scenario takes per server, to skip what would overrun the budget. */
function estimateSeconds (s: ScenarioName): number {
  const c = config
  switch (s) {
    case 'idle': return 10 + c.idleSettleSeconds
    case 'fixed': return c.firstWarmupSeconds + c.windows * (c.warmupSeconds + c.windowSeconds + c.graceSeconds + 1)
    case 'presence': return c.presenceSizes.reduce((t, n) => t + 6 + n / 200 + c.presenceSeconds + c.graceSeconds, 0)
    case 'cold': return 3 + c.coldRepeats * 3
    case 'storm': return 40
    case 'scale': return (c.scaleSizesKiB.length + c.scaleWriters.length) * (c.warmupSeconds + c.scaleWindowSeconds + 6)
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
  const path = resolve(fromRoot(), config.reportPath)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, report + '\n')
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

/** The wanted scenarios as steps; idle and fixed share one set of connections. */
function steps (): Step[] {
  const wanted = config.scenarios
  const out: Step[] = []
  const editing = (['idle', 'fixed'] as const).filter((e) => wanted.includes(e))
  if (editing.length > 0) {
    out.push({ label: editing.join(' + '), scenarios: [...editing], run: (servers) => runEditing(servers, { idle: editing.includes('idle'), fixed: editing.includes('fixed') }, log) })
  }
  if (wanted.includes('presence')) {
    out.push({
      label: 'presence',
      scenarios: ['presence'],
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
  }
  if (wanted.includes('cold')) out.push({ label: 'cold load', scenarios: ['cold'], run: (servers) => runColdLoad(servers) })
  if (wanted.includes('storm')) out.push({ label: 'join storms', scenarios: ['storm'], run: (servers) => runStorms(servers, log) })
  if (wanted.includes('scale')) out.push({ label: 'scale', scenarios: ['scale'], run: (servers) => runScale(servers, log) })
  if (wanted.includes('redis-memory')) out.push({ label: 'Redis memory', scenarios: ['redis-memory'], run: (servers) => eachServer(servers, 'Redis memory per document', runRedisMemory) })
  return out
}

function mark (kinds: ServerKind[], scenarios: ScenarioName[], status: 'not available' | 'failed' | 'skipped', reason: string): void {
  for (const kind of kinds) {
    const done = new Set(results.filter((r) => r.server === kind).map((r) => r.scenario))
    for (const s of scenarios) {
      if (!KINDS[s].includes(kind)) continue
      for (const name of scenarioNames(s)) if (!done.has(name)) results.push(unavailable(name, kind, status, reason))
    }
  }
}

async function runAll (): Promise<void> {
  const todo = steps()
  const wantedKinds = SERVER_KINDS.filter((k) => config.servers.includes(k) && todo.some((t) => t.scenarios.some((s) => KINDS[s].includes(k))))
  const servers: ServerUnderTest[] = []
  try {
    for (const kind of wantedKinds) {
      log(`starting ${kind}`)
      try {
        servers.push(await STARTERS[kind]())
      } catch (err) {
        log(`${kind} not available: ${firstLine(err)}`)
        mark([kind], todo.flatMap((t) => t.scenarios), 'not available', firstLine(err))
      }
    }
    for (const step of todo) {
      const these = servers.filter((s) => step.scenarios.some((sc) => KINDS[sc].includes(s.kind)))
      if (these.length === 0) continue
      const need = step.scenarios.reduce((t, s) => t + estimateSeconds(s), 0) * these.length
      if (elapsed() + need > config.budgetSeconds) {
        mark(these.map((s) => s.kind), step.scenarios, 'skipped', 'time budget of the run used up')
        continue
      }
      log(`${step.label}: ${these.map((s) => s.kind).join(', ')}`)
      const stepStarted = elapsed()
      try {
        for (const s of these) await waitQuiet(() => s.pids(), 3000)
        results.push(...await step.run(these))
      } catch (err) {
        log(`${step.label} failed: ${firstLine(err)}`)
      }
      log(`${step.label} took ${(elapsed() - stepStarted).toFixed(0)} s`)
      mark(these.map((s) => s.kind), step.scenarios, 'failed', 'no result (see the log)')
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
  await runAll()
  clearTimeout(watchdog)
  process.stdout.write(writeReport() + '\n')
  log(`done in ${elapsed().toFixed(0)} s; written to ${config.reportPath}`)
  process.exit(0)
}

main().catch((err) => {
  log(`bench failed: ${(err as Error).stack ?? String(err)}`)
  process.stdout.write(writeReport() + '\n')
  process.exit(1)
})
