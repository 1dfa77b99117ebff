/**
 * The report: a table per scenario (Quire's figure, each peer's, and the
 * ratio Quire / peer), the targets of issue 5 against this run, what the
 * noise of a shared machine makes uncertain, and how the bench measures.
 * Markdown, printed and written to docs/benchmarks.md.
 */
import type { ServerKind } from './config.js'
import type { MachineInfo } from './machine.js'
import { isNoisy, valueOf, type Figure, type ScenarioResult } from './results.js'
import { methodology } from './methodology.js'

export interface RunInfo {
  machine: MachineInfo
  startedAt: Date
  seconds: number
  /** Environment the bench set on Quire beyond its defaults (rate limits), for the record. */
  quireEnv: Record<string, string>
  /** Node flags Quire ran with (from the start script, plus BENCH_QUIRE_NODE_ARGS). */
  quireNodeArgs: string[]
}

const LABELS: Record<ServerKind, string> = {
  quire: 'Quire',
  hocuspocus: 'Hocuspocus',
  'y-websocket': 'y-websocket',
  'quire-redis': 'Quire ×2 + Redis',
  'hocuspocus-redis': 'Hocuspocus ×2 + Redis',
}
const ORDER: ServerKind[] = ['quire', 'quire-redis', 'hocuspocus', 'hocuspocus-redis', 'y-websocket']
const isQuire = (k: ServerKind): boolean => k === 'quire' || k === 'quire-redis'

function format (v: number, digits: number): string {
  if (!Number.isFinite(v)) return '—'
  return v.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function cell (r: ScenarioResult | undefined, key: string): string {
  if (r === undefined) return 'not run'
  if (r.status !== 'ok') return r.status
  const f = r.figures[key]
  if (f === undefined) return '—'
  return format(valueOf(f), f.digits) + (isNoisy(f) ? ' ~' : '')
}

function ratio (q: Figure | undefined, p: Figure | undefined): string {
  const a = valueOf(q)
  const b = valueOf(p)
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '—'
  const r = a / b
  // Two significant digits: 0.0042× says more than 0.00×.
  return `${r >= 10 ? format(r, 0) : r.toPrecision(2)}×`
}

function scenarioTable (name: string, rows: ScenarioResult[]): string[] {
  const byServer = new Map(rows.map((r) => [r.server, r]))
  const servers = ORDER.filter((k) => byServer.has(k))
  const quire = servers.find(isQuire)
  const peers = servers.filter((k) => !isQuire(k))
  const keys: string[] = []
  for (const k of servers) for (const key of Object.keys(byServer.get(k)!.figures)) if (!keys.includes(key)) keys.push(key)
  const out = [`### ${name}`, '']
  const header = ['figure', ...(quire ? [LABELS[quire]] : [])]
  for (const p of peers) header.push(LABELS[p], ...(quire ? ['ratio'] : []))
  out.push(`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`)
  for (const key of keys) {
    const any = servers.map((k) => byServer.get(k)!.figures[key]).find(Boolean)!
    const unit = any.unit ? ` (${any.unit})` : ''
    const arrow = any.better === 'lower' ? '↓' : '↑'
    const line = [`${any.label}${unit} ${arrow}`]
    if (quire) line.push(cell(byServer.get(quire), key))
    for (const p of peers) {
      line.push(cell(byServer.get(p), key))
      if (quire) line.push(ratio(byServer.get(quire)!.figures[key], byServer.get(p)!.figures[key]))
    }
    out.push(`| ${line.join(' | ')} |`)
  }
  if (keys.length === 0) {
    const line = ['status']
    if (quire) line.push(cell(byServer.get(quire), ''))
    for (const p of peers) line.push(cell(byServer.get(p), ''), ...(quire ? [''] : []))
    out.push(`| ${line.join(' | ')} |`)
  }
  out.push('')
  for (const k of servers) {
    const r = byServer.get(k)!
    const bits: string[] = []
    if (r.reason) bits.push(r.reason)
    if (r.notes) bits.push(...r.notes)
    if (r.loadgenCores !== undefined) bits.push(`load generator ${format(r.loadgenCores, 2)} cores`)
    if (r.foreignCores !== undefined) bits.push(`other load on the machine ${format(r.foreignCores, 2)} cores`)
    if (bits.length) out.push(`- ${LABELS[k]}: ${bits.join('; ')}`)
  }
  out.push('')
  return out
}

interface Target {
  text: string
  quire: number
  reference: number
  /** Quire / reference must be at most this (or, for absolute targets, Quire at most `limit`). */
  limit: number
  absolute?: boolean
  unit: string
}

function find (results: ScenarioResult[], scenario: string, server: ServerKind, key: string): number {
  const r = results.find((x) => x.scenario === scenario && x.server === server && x.status === 'ok')
  return valueOf(r?.figures[key])
}

export function targets (results: ScenarioResult[]): Target[] {
  const f = (s: string, k: ServerKind, key: string): number => find(results, s, k, key)
  return [
    { text: 'CPU per delivered update ≤ ½ Hocuspocus (one instance)', quire: f('fixed load', 'quire', 'cpuPerDelivery'), reference: f('fixed load', 'hocuspocus', 'cpuPerDelivery'), limit: 0.5, unit: 'µs' },
    { text: 'CPU per delivered update ≤ ½ Hocuspocus (two instances on Redis)', quire: f('fixed load, two instances', 'quire-redis', 'cpuPerDelivery'), reference: f('fixed load, two instances', 'hocuspocus-redis', 'cpuPerDelivery'), limit: 0.5, unit: 'µs' },
    { text: 'p99 at fixed load across two instances ≤ ½ Hocuspocus + Redis', quire: f('fixed load, two instances', 'quire-redis', 'p99'), reference: f('fixed load, two instances', 'hocuspocus-redis', 'p99'), limit: 0.5, unit: 'ms' },
    { text: 'CPU per awareness update, 300 clients ≤ ¼ Hocuspocus', quire: f('presence storm, 300 clients', 'quire', 'cpuPerUpdate'), reference: f('presence storm, 300 clients', 'hocuspocus', 'cpuPerUpdate'), limit: 0.25, unit: 'ms' },
    { text: '1,000 clients at 1 Hz on one instance < ½ core', quire: f('presence storm, 1000 clients', 'quire', 'serverCores'), reference: NaN, limit: 0.5, absolute: true, unit: 'cores' },
    { text: 'idle memory per connection ≤ ½ Hocuspocus', quire: f('idle memory', 'quire', 'perConnection'), reference: f('idle memory', 'hocuspocus', 'perConnection'), limit: 0.5, unit: 'KiB' },
    { text: 'cold load of the large document ≤ ½ Hocuspocus', quire: f('cold load', 'quire', 'total'), reference: f('cold load', 'hocuspocus', 'total'), limit: 0.5, unit: 'ms' },
    { text: 'Redis memory per document ≤ 1.2 × encoded size', quire: f('Redis memory per document', 'quire-redis', 'perDoc'), reference: f('Redis memory per document', 'quire-redis', 'encoded'), limit: 1.2, unit: 'bytes' },
  ]
}

function targetTable (results: ScenarioResult[]): string[] {
  const out = ['## Targets (issue 5)', '', '| target | Quire | reference | ratio | limit | met |', '|---|---:|---:|---:|---:|:---:|']
  for (const t of targets(results)) {
    const value = t.absolute ? t.quire : t.quire / t.reference
    const known = Number.isFinite(value)
    const met = !known ? 'n/a' : (t.absolute ? value < t.limit : value <= t.limit) ? 'yes' : 'no'
    out.push(`| ${t.text} | ${format(t.quire, 1)} ${t.unit} | ${t.absolute ? '—' : `${format(t.reference, 1)} ${t.unit}`} | ${t.absolute || !known ? '—' : `${format(value, 3)}×`} | ${t.absolute ? `< ${t.limit}` : `≤ ${t.limit}×`} | ${met} |`)
  }
  out.push('')
  return out
}

function noiseSection (results: ScenarioResult[]): string[] {
  const out = ['## What the noise makes uncertain', '']
  const noisy: string[] = []
  for (const r of results) {
    if (r.status !== 'ok') continue
    for (const f of Object.values(r.figures)) {
      if (isNoisy(f)) noisy.push(`${r.scenario} / ${LABELS[r.server]} / ${f.label} (repeats: ${f.values.map((v) => format(v, f.digits)).join(', ')})`)
    }
  }
  const busy = results.filter((r) => (r.foreignCores ?? 0) > 0.3)
  out.push('- Figures whose repeats differ by more than 25 % of their median are marked `~` in the tables' + (noisy.length ? ':' : ' (none in this run).'))
  for (const n of noisy) out.push(`  - ${n}`)
  if (busy.length) {
    out.push('- Other work on the machine took more than 0.3 cores during: ' +
      busy.map((r) => `${r.scenario} / ${LABELS[r.server]} (${format(r.foreignCores!, 2)})`).join('; ') + '.')
  } else {
    out.push('- Other work on the machine stayed under 0.3 cores during every measurement.')
  }
  out.push(
    '- Always uncertain here: max latency (one slow event loop turn anywhere decides it), the saturation rate ' +
    '(the load generator shares the two cores and saturates first; compare CPU per delivery instead), and ' +
    'single-run figures (idle memory, presence storms, saturation steps, Redis memory), which are not repeated to keep the run under 10 minutes.',
    '- CPU is read in clock ticks (10 ms): figures from short windows at low load carry a few percent of rounding.',
    '',
  )
  return out
}

export function renderReport (run: RunInfo, results: ScenarioResult[]): string {
  const m = run.machine
  const out: string[] = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (bench/); do not edit by hand — the next run replaces this file.',
    '',
    `- Date: ${run.startedAt.toISOString()} (run took ${Math.round(run.seconds)} s); Quire commit ${m.commit}`,
    `- Machine: ${m.cores} cores, ${m.cpuModel}, ${format(m.memoryGiB, 0)} GiB; load average at start ${m.loadAtStart.map((l) => l.toFixed(2)).join(' / ')}`,
    `- Versions: ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `- Quire ran as \`node ${[...run.quireNodeArgs, 'dist/server/main.js'].join(' ')}\` (as \`npm start\` runs it)`,
    `- Quire environment set by the bench: ${Object.keys(run.quireEnv).length ? Object.entries(run.quireEnv).map(([k, v]) => `${k}=${v}`).join(', ') : 'none beyond HOST, PORT, DATA_DIR/REDIS_URL and LOG_LEVEL=warn'}`,
    '',
    'Ratio = Quire ÷ peer. ↓: lower is better, ↑: higher is better. `~`: repeats disagree (see below).',
    '',
    '## Results',
    '',
  ]
  const scenarios: string[] = []
  for (const r of results) if (!scenarios.includes(r.scenario)) scenarios.push(r.scenario)
  for (const s of scenarios) out.push(...scenarioTable(s, results.filter((r) => r.scenario === s)))
  out.push(...targetTable(results), ...noiseSection(results), ...methodology())
  return out.join('\n')
}
