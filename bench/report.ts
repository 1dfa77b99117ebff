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
import { FIXED, IDLE } from './scenarios/editing.js'
import { stormNames } from './scenarios/join-storm.js'
import { SCALE_PREFIX } from './scenarios/scale.js'

export interface RunInfo {
  machine: MachineInfo
  startedAt: Date
  seconds: number
  /** Environment the bench set on Quire beyond its defaults (rate limits), for the record. */
  quireEnv: Record<string, string>
  /** Node flags Quire ran with (from the start script, plus BENCH_QUIRE_NODE_ARGS). */
  quireNodeArgs: string[]
}

export const LABELS: Record<ServerKind, string> = {
  relay: 'raw relay',
  'y-websocket': 'y-websocket',
  hocuspocus: 'Hocuspocus',
  quire: 'Quire',
  'quire-fsync': 'Quire, DATA_FSYNC=everysec',
  'hocuspocus-redis': 'Hocuspocus ×2 + Redis',
  'quire-redis': 'Quire ×2 + Redis',
}
const ORDER: ServerKind[] = ['relay', 'y-websocket', 'hocuspocus', 'quire', 'quire-fsync', 'hocuspocus-redis', 'quire-redis']

/** The Hocuspocus a row is compared with: the same setup (one instance, or two on Redis). */
export const hocuspocusOf = (k: ServerKind): ServerKind => (k.endsWith('-redis') ? 'hocuspocus-redis' : 'hocuspocus')

export function format (v: number, digits: number): string {
  if (!Number.isFinite(v)) return '—'
  return v.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** Median, and the range of the repeats when there are several: `29.6 (28.1–31.0)`; `~` when they disagree. */
export function valueCell (f: Figure): string {
  const finite = f.values.filter((v) => Number.isFinite(v))
  const mid = format(valueOf(f), f.digits)
  if (finite.length < 2) return mid
  const range = `${format(Math.min(...finite), f.digits)}–${format(Math.max(...finite), f.digits)}`
  return `${mid} (${range})${isNoisy(f) ? ' ~' : ''}`
}

function cell (r: ScenarioResult | undefined, key: string): string {
  if (r === undefined) return 'not run'
  if (r.status !== 'ok') return r.status
  const f = r.figures[key]
  return f === undefined ? '—' : valueCell(f)
}

/** a ÷ b of two figures' medians, two significant digits (0.0042× says more than 0.00×). */
export function ratio (a: Figure | undefined, b: Figure | undefined): string {
  const x = valueOf(a)
  const y = valueOf(b)
  if (!Number.isFinite(x) || !Number.isFinite(y) || y === 0) return '—'
  const r = x / y
  return `${r >= 10 ? format(r, 0) : r.toPrecision(2)}×`
}

/**
 * A scenario's table: a row per server, a column per figure (median and
 * min–max of the repeats), then the same figures as ratios to the raw relay
 * and to Hocuspocus of the same setup, from the same run.
 */
export function scenarioTable (name: string, rows: ScenarioResult[]): string[] {
  const byServer = new Map(rows.map((r) => [r.server, r]))
  const servers = ORDER.filter((k) => byServer.has(k))
  const keys: string[] = []
  for (const k of servers) for (const key of Object.keys(byServer.get(k)!.figures)) if (!keys.includes(key)) keys.push(key)
  const figureOf = (key: string): Figure => servers.map((k) => byServer.get(k)!.figures[key]).find(Boolean)!
  const header = keys.map((key) => {
    const f = figureOf(key)
    return `${f.label}${f.unit ? ` (${f.unit})` : ''} ${f.better === 'lower' ? '↓' : '↑'}`
  })
  const out = [`### ${name}`, '', `| server | ${keys.length ? header.join(' | ') : 'status'} |`, `|---|${(keys.length ? keys : ['']).map(() => '---:').join('|')}|`]
  for (const k of servers) {
    const r = byServer.get(k)!
    out.push(`| ${LABELS[k]} | ${keys.length ? keys.map((key) => cell(r, key)).join(' | ') : cell(r, '')} |`)
  }
  const ok = (k: ServerKind): ScenarioResult | undefined => (byServer.get(k)?.status === 'ok' ? byServer.get(k) : undefined)
  const compared = servers.filter((k) => ok(k) && (ok('relay') || ok(hocuspocusOf(k))))
  if (keys.length && compared.length > 1) {
    out.push('', `Ratios, ÷ raw relay · ÷ Hocuspocus of the same setup (medians of this run):`, '', `| server | ${header.join(' | ')} |`, `|---|${keys.map(() => '---:').join('|')}|`)
    for (const k of compared) {
      const r = ok(k)!
      const line = keys.map((key) => `${ratio(r.figures[key], ok('relay')?.figures[key])} · ${ratio(r.figures[key], ok(hocuspocusOf(k))?.figures[key])}`)
      out.push(`| ${LABELS[k]} | ${line.join(' | ')} |`)
    }
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

/**
 * The scale rows in one table, a row per document size or writer count and
 * per server its CPU per delivery (× its first row: the growth), p99 and
 * RSS, so the growth reads down a column.
 */
export function scaleSection (results: ScenarioResult[]): string[] {
  if (results.length === 0) return []
  const rowNames: string[] = []
  for (const r of results) if (!rowNames.includes(r.scenario)) rowNames.push(r.scenario)
  const servers = ORDER.filter((k) => results.some((r) => r.server === k))
  const get = (row: string, k: ServerKind): ScenarioResult | undefined => results.find((r) => r.scenario === row && r.server === k)
  const out = ['### Scale', '', 'CPU per delivery (µs) with its growth (× the first row of its kind: the smallest document, the fewest writers), p99 (ms) and server RSS at the end of the window (MiB).', '']
  out.push(`| row | ${servers.map((k) => `${LABELS[k]}: CPU µs (growth) | p99 | RSS`).join(' | ')} |`, `|---|${servers.map(() => '---:|---:|---:').join('|')}|`)
  const firstOfKind = (row: string): string => rowNames.find((n) => n.includes('writer') === row.includes('writer'))!
  for (const row of rowNames) {
    const cells = servers.flatMap((k) => {
      const r = get(row, k)
      if (r === undefined) return ['not run', '', '']
      if (r.status !== 'ok') return [r.status, '', '']
      const base = get(firstOfKind(row), k)
      const growth = base?.status === 'ok' ? ratio(r.figures.cpuPerDelivery, base.figures.cpuPerDelivery) : '—'
      return [`${valueCell(r.figures.cpuPerDelivery)} (${growth})`, valueCell(r.figures.p99), valueCell(r.figures.rss)]
    })
    out.push(`| ${row.slice(SCALE_PREFIX.length)} | ${cells.join(' | ')} |`)
  }
  out.push('')
  for (const row of rowNames) {
    const any = results.find((r) => r.scenario === row && r.status === 'ok')
    const failed = results.filter((r) => r.scenario === row && r.status !== 'ok').map((r) => `${LABELS[r.server]} ${r.status}${r.reason ? `: ${r.reason}` : ''}`)
    out.push(`- ${row.slice(SCALE_PREFIX.length)}: ${[...(any?.notes?.slice(0, 1) ?? []), ...failed].join('; ')}`)
  }
  out.push('')
  return out
}

interface Target {
  text: string
  /** The issue that set it. */
  issue: number
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
  const [join, rejoin] = stormNames()
  const storm = (name: string, what: string): Target[] => [
    { text: `${what}: time until every client is synced ≤ ¼ Hocuspocus`, issue: 13, quire: f(name, 'quire', 'syncMax'), reference: f(name, 'hocuspocus', 'syncMax'), limit: 0.25, unit: 'ms' },
    { text: `${what}: peak RSS ≤ ½ Hocuspocus`, issue: 13, quire: f(name, 'quire', 'peakRss'), reference: f(name, 'hocuspocus', 'peakRss'), limit: 0.5, unit: 'MiB' },
    { text: `${what}: no client dropped`, issue: 13, quire: f(name, 'quire', 'dropped'), reference: NaN, limit: 0, absolute: true, unit: 'clients' },
  ]
  return [
    { text: 'steady state, embedded store: CPU per delivery ≤ 1.5 × the raw relay', issue: 13, quire: f(FIXED, 'quire', 'cpuPerDelivery'), reference: f(FIXED, 'relay', 'cpuPerDelivery'), limit: 1.5, unit: 'µs' },
    { text: 'steady state, embedded store: CPU per delivery ≤ 0.6 × Hocuspocus', issue: 13, quire: f(FIXED, 'quire', 'cpuPerDelivery'), reference: f(FIXED, 'hocuspocus', 'cpuPerDelivery'), limit: 0.6, unit: 'µs' },
    { text: 'steady state, embedded store: p99 ≤ Hocuspocus', issue: 13, quire: f(FIXED, 'quire', 'p99'), reference: f(FIXED, 'hocuspocus', 'p99'), limit: 1, unit: 'ms' },
    { text: 'steady state, two instances on Redis: CPU per delivery ≤ ½ Hocuspocus ×2 + Redis', issue: 13, quire: f(FIXED, 'quire-redis', 'cpuPerDelivery'), reference: f(FIXED, 'hocuspocus-redis', 'cpuPerDelivery'), limit: 0.5, unit: 'µs' },
    { text: 'steady state, two instances on Redis: p99 ≤ ½ Hocuspocus ×2 + Redis', issue: 13, quire: f(FIXED, 'quire-redis', 'p99'), reference: f(FIXED, 'hocuspocus-redis', 'p99'), limit: 0.5, unit: 'ms' },
    { text: 'presence, 300 clients: p99 ≤ 2 × Hocuspocus', issue: 13, quire: f('presence storm, 300 clients', 'quire', 'p99'), reference: f('presence storm, 300 clients', 'hocuspocus', 'p99'), limit: 2, unit: 'ms' },
    { text: 'presence, 300 clients: CPU per awareness update ≤ ¼ Hocuspocus', issue: 13, quire: f('presence storm, 300 clients', 'quire', 'cpuPerUpdate'), reference: f('presence storm, 300 clients', 'hocuspocus', 'cpuPerUpdate'), limit: 0.25, unit: 'ms' },
    { text: 'presence, 1,000 clients at 1 Hz on one instance < ½ core', issue: 13, quire: f('presence storm, 1000 clients', 'quire', 'serverCores'), reference: NaN, limit: 0.5, absolute: true, unit: 'cores' },
    ...storm(join, 'join storm'),
    ...storm(rejoin, 'rejoin storm'),
    { text: 'idle memory per connection ≤ ½ Hocuspocus', issue: 5, quire: f(IDLE, 'quire', 'perConnection'), reference: f(IDLE, 'hocuspocus', 'perConnection'), limit: 0.5, unit: 'KiB' },
    { text: 'cold load of the large document ≤ ½ Hocuspocus', issue: 5, quire: f('cold load', 'quire', 'total'), reference: f('cold load', 'hocuspocus', 'total'), limit: 0.5, unit: 'ms' },
    { text: 'Redis memory per document ≤ 1.2 × encoded size', issue: 5, quire: f('Redis memory per document', 'quire-redis', 'perDoc'), reference: f('Redis memory per document', 'quire-redis', 'encoded'), limit: 1.2, unit: 'bytes' },
  ]
}

function targetTable (results: ScenarioResult[]): string[] {
  const out = ['## Targets', '', '| target | issue | Quire | reference | ratio | limit | met |', '|---|---:|---:|---:|---:|---:|:---:|']
  for (const t of targets(results)) {
    const value = t.absolute ? t.quire : t.quire / t.reference
    const known = Number.isFinite(value)
    const met = !known ? 'n/a' : (t.absolute && t.limit === 0 ? value === 0 : t.absolute ? value < t.limit : value <= t.limit) ? 'yes' : 'no'
    const limit = t.absolute ? (t.limit === 0 ? '0' : `< ${t.limit}`) : `≤ ${t.limit}×`
    out.push(`| ${t.text} | ${t.issue} | ${format(t.quire, 1)} ${t.unit} | ${t.absolute ? '—' : `${format(t.reference, 1)} ${t.unit}`} | ${t.absolute || !known ? '—' : `${format(value, 3)}×`} | ${limit} | ${met} |`)
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
    '- Always uncertain here: max latency (one slow event loop turn anywhere decides it), deliveries per second ' +
    '(the load generator shares the two cores with the server), and single-run figures (idle memory, presence storms, ' +
    'join storms, the scale table, Redis memory), which are not repeated to keep the run near 35 minutes.',
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
    'Cells: median (min–max of the repeats). Ratios: ÷ the raw relay · ÷ Hocuspocus of the same setup. ↓: lower is better, ↑: higher is better. `~`: repeats disagree (see below).',
    '',
    '## Results',
    '',
  ]
  const scenarios: string[] = []
  for (const r of results) if (!scenarios.includes(r.scenario) && !r.scenario.startsWith(SCALE_PREFIX)) scenarios.push(r.scenario)
  for (const s of scenarios) out.push(...scenarioTable(s, results.filter((r) => r.scenario === s)))
  out.push(...scaleSection(results.filter((r) => r.scenario.startsWith(SCALE_PREFIX))))
  out.push(...targetTable(results), ...noiseSection(results), ...methodology())
  return out.join('\n')
}
