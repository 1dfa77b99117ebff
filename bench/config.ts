/**
 * Bench sizes and durations, each overridable by an environment variable so a
 * quick run (or a profiling run of one scenario) needs no code change. The
 * defaults keep the whole `npm run bench` under 10 minutes on a 2-core machine.
 */

function num (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number (got "${raw}")`)
  return value
}

function list (name: string, fallback: string[]): string[] {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  return raw.split(',').map((s) => s.trim()).filter(Boolean)
}

export const SERVER_KINDS = ['quire', 'hocuspocus', 'y-websocket', 'quire-redis', 'hocuspocus-redis'] as const
export type ServerKind = typeof SERVER_KINDS[number]

export const SCENARIOS = ['idle', 'fixed', 'saturation', 'presence', 'cold', 'redis-memory'] as const
export type ScenarioName = typeof SCENARIOS[number]

export const config = {
  /** Which servers and scenarios run (comma-separated). */
  servers: list('BENCH_SERVERS', [...SERVER_KINDS]) as ServerKind[],
  scenarios: list('BENCH_SCENARIOS', [...SCENARIOS]) as ScenarioName[],
  /** Whole-run wall-clock budget; scenarios that would start after it are skipped. */
  budgetSeconds: num('BENCH_BUDGET_S', 540),

  /** Fixed load (and the connections idle memory is measured on). */
  docs: num('BENCH_DOCS', 200),
  readersPerDoc: num('BENCH_READERS', 9),
  editsPerSecond: num('BENCH_RATE', 10),
  warmupSeconds: num('BENCH_WARMUP_S', 2),
  /** The fixed load is measured in this many back-to-back windows; medians are reported. */
  windows: num('BENCH_WINDOWS', 5),
  windowSeconds: num('BENCH_WINDOW_S', 4),
  /** Time allowed after sending stops for late deliveries to count. */
  graceSeconds: num('BENCH_GRACE_S', 1),

  /** Saturation: per-writer rate from the fixed rate, multiplied by this each step, on the fixed-load connections. */
  saturationFactor: num('BENCH_SAT_FACTOR', 1.5),
  saturationStepSeconds: num('BENCH_SAT_STEP_S', 3),
  saturationMaxSteps: num('BENCH_SAT_MAX_STEPS', 6),
  saturationP99Ms: num('BENCH_SAT_P99_MS', 100),
  saturationMinDelivery: num('BENCH_SAT_MIN_DELIVERY', 0.95),

  /** Presence storm: clients in one document, caret moves per client per second. */
  presenceSizes: list('BENCH_PRESENCE', ['300', '1000']).map(Number),
  presenceHz: num('BENCH_PRESENCE_HZ', 1),
  presenceSeconds: num('BENCH_PRESENCE_S', 6),
  /** Clients that decode every awareness frame to measure latency. */
  presenceObservers: num('BENCH_PRESENCE_OBSERVERS', 5),

  /** Idle memory settles this long before RSS is read. */
  idleSettleSeconds: num('BENCH_IDLE_SETTLE_S', 2),

  /** Cold load: edits in the large document, and how many restarts to take the median of. */
  coldEdits: num('BENCH_COLD_EDITS', 100_000),
  coldRepeats: num('BENCH_COLD_REPEATS', 5),

  /** Redis memory: documents and edits per document. */
  redisDocs: num('BENCH_REDIS_DOCS', 20),
  redisEditsPerDoc: num('BENCH_REDIS_EDITS', 1500),

  /** Connections opened at once while setting up a scenario. */
  connectConcurrency: num('BENCH_CONNECT_CONCURRENCY', 64),
  /** A setup step (connecting, seeding) that takes longer than this fails the scenario. */
  setupTimeoutSeconds: num('BENCH_SETUP_TIMEOUT_S', 60),
  /** Extra node flags for Quire processes (experiments, e.g. "--max-semi-space-size=2"); space-separated. */
  quireNodeArgs: (process.env.BENCH_QUIRE_NODE_ARGS ?? '').split(' ').filter(Boolean),
  /** Write CPU profiles of every Node server process here (node --cpu-prof, one folder per server) when set. */
  cpuProfDir: process.env.BENCH_CPU_PROF_DIR || null,
}

export type BenchConfig = typeof config
