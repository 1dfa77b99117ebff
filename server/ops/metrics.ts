/** Prometheus metrics (contract §6, GET /metrics). One registry per server instance. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export function createMetrics () {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'quire_process_' })
  const m = {
    registry,
    connections: new Gauge({ name: 'quire_connections', help: 'Open WebSocket connections', registers: [registry] }),
    documentsLoaded: new Gauge({ name: 'quire_documents_loaded', help: 'Documents loaded in memory', registers: [registry] }),
    awarenessInstances: new Gauge({ name: 'quire_awareness_instances', help: 'Awareness (presence) instances alive, one per loaded document', registers: [registry] }),
    timersActive: new Gauge({ name: 'quire_timers_active', help: 'Per-document and per-connection timers pending (presence flush, write retry, token expiry)', registers: [registry] }),
    messagesIn: new Counter({ name: 'quire_messages_in_total', help: 'Protocol messages received', labelNames: ['type'], registers: [registry] }),
    messagesOut: new Counter({ name: 'quire_messages_out_total', help: 'Frames sent', registers: [registry] }),
    bytesIn: new Counter({ name: 'quire_bytes_in_total', help: 'Bytes received in frames', registers: [registry] }),
    bytesOut: new Counter({ name: 'quire_bytes_out_total', help: 'Bytes sent in frames', registers: [registry] }),
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
