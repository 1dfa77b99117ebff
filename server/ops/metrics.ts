/** Prometheus metrics (GET /metrics; every metric is described in docs/metrics.md). One registry per server instance. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * Per-frame traffic counts. Every frame in and out bumps these, so they are
 * plain numbers: a prom-client `inc()` (argument checks, a label hash, a
 * map lookup) on every send was a measurable share of the relay path. They
 * are handed to prom-client only when /metrics is scraped.
 */
export interface TrafficCounts {
  messagesOut: number
  bytesOut: number
  bytesIn: number
  /** Protocol messages received, by message type. */
  messagesIn: Map<string, number>
}

export function createMetrics () {
  const registry = new Registry()
  // Node's own metrics as quire_process_*, quire_nodejs_* (memory, CPU, event loop lag).
  collectDefaultMetrics({ register: registry, prefix: 'quire_' })
  const traffic: TrafficCounts = { messagesOut: 0, bytesOut: 0, bytesIn: 0, messagesIn: new Map() }
  /** A counter whose value is read from `traffic` at scrape time. */
  const trafficCounter = (name: string, help: string, read: () => number): Counter => new Counter({
    name,
    help,
    registers: [registry],
    collect () {
      this.reset()
      this.inc(read())
    },
  })
  // Registered only: their values come from `traffic` (nothing may inc() them).
  new Counter({
    name: 'quire_messages_in_total',
    help: 'Protocol messages received',
    labelNames: ['type'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [type, count] of traffic.messagesIn) this.inc({ type }, count)
    },
  })
  trafficCounter('quire_messages_out_total', 'Frames sent', () => traffic.messagesOut)
  trafficCounter('quire_bytes_in_total', 'Bytes received in frames', () => traffic.bytesIn)
  trafficCounter('quire_bytes_out_total', 'Bytes sent in frames', () => traffic.bytesOut)
  const m = {
    registry,
    traffic,
    connections: new Gauge({ name: 'quire_connections', help: 'Open WebSocket connections', registers: [registry] }),
    documentsLoaded: new Gauge({ name: 'quire_documents_loaded', help: 'Documents loaded in memory', registers: [registry] }),
    documentsAlive: new Gauge({ name: 'quire_documents_alive', help: 'Document objects created minus destroyed: equals quire_documents_loaded unless one leaked out of the registry', registers: [registry] }),
    refusals: new Counter({ name: 'quire_limit_refusals_total', help: 'Requests refused because a budget was spent, by limit (docs/security.md)', labelNames: ['limit'], registers: [registry] }),
    timersActive: new Gauge({ name: 'quire_timers_active', help: 'Per-document and per-connection timers pending (presence flush, write retry, token expiry)', registers: [registry] }),
    persistSeconds: new Histogram({
      name: 'quire_persist_seconds',
      help: 'Time from an update batch being handed to the store until it is durable',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    persistFailures: new Counter({ name: 'quire_persist_failures_total', help: 'Store writes that failed and will be retried', registers: [registry] }),
    closes: new Counter({ name: 'quire_connection_closes_total', help: 'Connections closed by the server, by close code', labelNames: ['code'], registers: [registry] }),
    errors: new Counter({ name: 'quire_errors_total', help: 'Errors by kind', labelNames: ['kind'], registers: [registry] }),
  }
  return m
}

export type Metrics = ReturnType<typeof createMetrics>
