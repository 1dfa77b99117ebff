/**
 * Bench sizes and durations, each overridable by an environment variable so a
 * quick run (or a profiling run of one scenario) needs no code change. The
 * defaults keep the whole `npm run bench` near 35 minutes on a 2-core machine
 * (docs/benchmarks.md, "Running it").
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

function oneOf<T extends string> (name: string, values: T[], allowed: readonly T[]): T[] {
  const wrong = values.filter((v) => !allowed.includes(v))
  if (wrong.length > 0) throw new Error(`${name}: unknown ${wrong.join(', ')} (known: ${allowed.join(', ')})`)
  return values
}

export const SERVER_KINDS = ['relay', 'y-websocket', 'hocuspocus', 'quire', 'quire-fsync', 'quire-redis', 'hocuspocus-redis'] as const
export type ServerKind = typeof SERVER_KINDS[number]

export const SCENARIOS = ['idle', 'fixed', 'presence', 'cold', 'storm', 'scale', 'redis-memory'] as const
export type ScenarioName = typeof SCENARIOS[number]

export const config = {
  /** Which servers and scenarios run (comma-separated). */
  servers: oneOf('BENCH_SERVERS', list('BENCH_SERVERS', [...SERVER_KINDS]) as ServerKind[], SERVER_KINDS),
  scenarios: oneOf('BENCH_SCENARIOS', list('BENCH_SCENARIOS', [...SCENARIOS]) as ScenarioName[], SCENARIOS),
  /** Where the report is written (relative to the repository); a quick run can keep docs/benchmarks.md as it is. */
  reportPath: process.env.BENCH_OUT || 'docs/benchmarks.md',
  /** Whole-run wall-clock budget; scenarios that would start after it are skipped. */
  budgetSeconds: num('BENCH_BUDGET_S', 2400),

  /** Fixed load (and the connections idle memory is measured on). */
  docs: num('BENCH_DOCS', 200),
  readersPerDoc: num('BENCH_READERS', 9),
  editsPerSecond: num('BENCH_RATE', 10),
  /** Load before each window of a server (its load then runs on into the window without a pause). */
  warmupSeconds: num('BENCH_WARMUP_S', 5),
  /** Load before a server's first window (JIT, caches, the store's first compactions). */
  firstWarmupSeconds: num('BENCH_FIRST_WARMUP_S', 15),
  /** Repetitions: each server gets this many windows, the servers taking turns; medians and min–max reported. */
  windows: num('BENCH_WINDOWS', 3),
  /** Length of one continuous measurement window. */
  windowSeconds: num('BENCH_WINDOW_S', 20),
  /** Time allowed after sending stops for late deliveries to count. */
  graceSeconds: num('BENCH_GRACE_S', 1),

  /** Presence storm: clients in one document, caret moves per client per second. */
  presenceSizes: list('BENCH_PRESENCE', ['300', '1000']).map(Number),
  presenceHz: num('BENCH_PRESENCE_HZ', 1),
  presenceSeconds: num('BENCH_PRESENCE_S', 10),
  /** Clients that decode every awareness frame to measure latency. */
  presenceObservers: num('BENCH_PRESENCE_OBSERVERS', 5),

  /** Idle memory settles this long before RSS is read. */
  idleSettleSeconds: num('BENCH_IDLE_SETTLE_S', 2),

  /** Cold load: edits in the large document, and how many restarts to take the median of. */
  coldEdits: num('BENCH_COLD_EDITS', 100_000),
  coldRepeats: num('BENCH_COLD_REPEATS', 5),

  /** Join storm on one big document: clients, document size, the second they join within, the bound on the whole storm. */
  stormClients: num('BENCH_STORM_CLIENTS', 500),
  stormDocMiB: num('BENCH_STORM_DOC_MB', 5),
  stormSpreadSeconds: num('BENCH_STORM_SPREAD_S', 1),
  /** Rejoin storm: clients, documents, document size. */
  rejoinClients: num('BENCH_REJOIN_CLIENTS', 2000),
  rejoinDocs: num('BENCH_REJOIN_DOCS', 200),
  rejoinDocKiB: num('BENCH_REJOIN_DOC_KB', 200),
  /** A storm's clients not synced this long after they started joining count as dropped. */
  stormTimeoutSeconds: num('BENCH_STORM_TIMEOUT_S', 60),

  /** Scale table: document sizes (KiB) under the edit load, and writers in one document. */
  scaleSizesKiB: list('BENCH_SCALE_SIZES_KB', ['10', '1024', '10240']).map(Number),
  scaleDocs: num('BENCH_SCALE_DOCS', 2),
  scaleWriters: list('BENCH_SCALE_WRITERS', ['1', '10', '100']).map(Number),
  /** Readers per document of every row. */
  scaleReaders: num('BENCH_SCALE_READERS', 20),
  /** Edits per second in each document of every row, shared by its writers. */
  scaleDocRate: num('BENCH_SCALE_DOC_RATE', 100),
  scaleWindowSeconds: num('BENCH_SCALE_WINDOW_S', 10),
  scaleServers: oneOf('BENCH_SCALE_SERVERS', list('BENCH_SCALE_SERVERS', ['relay', 'hocuspocus', 'quire']) as ServerKind[], SERVER_KINDS),

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
