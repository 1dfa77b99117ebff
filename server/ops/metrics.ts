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

/** What carries a connection (docs/protocol.md): a WebSocket, or the fallback stream (HTTP). */
export type Transport = 'websocket' | 'stream'
export const TRANSPORTS: readonly Transport[] = ['websocket', 'stream']

/**
 * The budgets whose refusals `quire_limit_refusals_total` counts, by its
 * `limit` label (docs/configuration.md, "Limits"). Each is zero from the start.
 */
export const LIMIT = {
  /** MAX_CONNECTIONS: the instance is full (4503). */
  connections: 'connections',
  /** MAX_CONNECTIONS_PER_IP (4429). */
  connectionsPerIp: 'connections_per_ip',
  /** MAX_CONNECTIONS_PER_USER (4429). */
  connectionsPerUser: 'connections_per_user',
  /** MAX_NEW_CONNECTIONS_PER_SECOND / _BURST: the instance admits no more new connections now (4503 with a retry-after hint). */
  newConnections: 'new_connections',
  /** MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND / _BURST: one address opens connections too fast (4503 with a retry-after hint). */
  newConnectionsPerIp: 'new_connections_per_ip',
  /** MAX_PENDING_UPGRADES: upgrades not yet admitted or closing (HTTP 503). */
  pendingUpgrades: 'pending_upgrades',
  /** HEADERS_TIMEOUT_MS: a socket that never finished its request head (HTTP 408 or closed). */
  requestHeaders: 'request_headers',
  /** AUTHENTICATE_TIMEOUT_MS: the library's authenticate hook did not answer in time (4503). */
  authenticateTimeout: 'authenticate_timeout',
  /** MAX_SEND_BACKLOG_BYTES: one connection not reading (4503). */
  backlogConnection: 'backlog_connection',
  /** MAX_INSTANCE_BACKLOG_BYTES: the largest backlogs, when all together are too much (4503). */
  backlogInstance: 'backlog_instance',
  /** MAX_WAITING_BYTES: sent too much while its document loads (4503). */
  waitingBytes: 'waiting_bytes',
  /** WORK_BUDGET_MS_PER_SECOND / _BURST_MS: a connection's requests cost too much event-loop time (4429). */
  workBudget: 'work_budget',
  /** MAX_UPDATE_DELETE_RANGES: an update whose cost is far beyond its size (4413). */
  updateDeleteRanges: 'update_delete_ranges',
  /** MAX_GATED_REPLIES: too many sync answers waiting for durability (4429). */
  gatedReplies: 'gated_replies',
  /** MAX_AWARENESS_CLIENT_IDS: too many awareness client ids on one connection (4429). */
  clientIdsPerConnection: 'client_ids_per_connection',
  /** MAX_AWARENESS_STATE_BYTES: one awareness state too large (4413). */
  awarenessStateBytes: 'awareness_state_bytes',
  /** MAX_PRESENCE_PER_DOCUMENT: too many people in one document (4503). */
  presencePerDocument: 'presence_per_document',
  /** EVENTS_MAX_STREAMS: the instance holds its most event streams (HTTP 503). */
  eventStreams: 'event_streams',
  /** EVENTS_MAX_STREAMS_PER_IP (HTTP 429). */
  eventStreamsPerIp: 'event_streams_per_ip',
  /** EVENTS_MAX_STREAMS_PER_USER (HTTP 429). */
  eventStreamsPerUser: 'event_streams_per_user',
  /** EVENTS_MAX_DOCS: a stream naming too many documents (HTTP 400). */
  eventStreamDocs: 'event_stream_docs',
  /** EVENTS_MAX_BACKLOG_BYTES: an event stream whose client does not read (closed). */
  eventStreamBacklog: 'event_stream_backlog',
  /** MAX_MESSAGE_BYTES: a content API request body too large (HTTP 413). */
  apiBodyBytes: 'api_body_bytes',
  /** API_LIST_MAX: a document listing page asked too long (HTTP 400). */
  apiListPage: 'api_list_page',
  /** CONTENT_PARSE_TIMEOUT_MS: HTML, Markdown or JSON that took too long to parse (HTTP 413). */
  contentParseTime: 'content_parse_time',
  /** One POST at a time per stream session (the fallback transport): a second one meanwhile gets HTTP 409. */
  streamPostsInFlight: 'stream_posts_in_flight',
  /** HISTORY_MAX_VERSIONS: a version asked for when the document already keeps as many (HTTP 429). */
  historyVersions: 'history_versions',
} as const

export type Limit = typeof LIMIT[keyof typeof LIMIT]

/** What one webhook request came to: the `result` label of quire_webhook_deliveries_total (docs/webhooks.md, "Retries"). */
export const WEBHOOK_RESULT = {
  /** A 2xx answer: delivered. */
  delivered: 'delivered',
  /** Any other status but 410: retried. */
  httpError: 'http_error',
  /** No answer within WEBHOOK_TIMEOUT_MS: retried. */
  timeout: 'timeout',
  /** Refused connection, DNS failure, reset: retried. */
  networkError: 'network_error',
  /** 410 Gone: not retried. */
  gone: 'gone',
  /** An admin-added URL that now resolves to a private address (WEBHOOKS_ALLOW_PRIVATE): not sent. */
  blocked: 'blocked',
} as const
export type WebhookResult = typeof WEBHOOK_RESULT[keyof typeof WEBHOOK_RESULT]

/** Why a webhook delivery was given up: the `reason` label of quire_webhook_failures_total. */
export const WEBHOOK_FAILURE = {
  /** Still failing WEBHOOK_RETRY_FOR_MS after its event. */
  expired: 'expired',
  /** The endpoint answered 410 Gone. */
  gone: 'gone',
  /** The endpoint was removed (admin API) before the delivery went out. */
  removed: 'removed',
  /** WEBHOOK_MAX_QUEUED deliveries were already waiting: the event was dropped for this endpoint. */
  queueFull: 'queue_full',
  /** The endpoint's address is not allowed (see WEBHOOK_RESULT.blocked). */
  blocked: 'blocked',
  /** The queue (Redis) could not be reached when the event was emitted: the event was dropped. */
  unavailable: 'unavailable',
} as const
export type WebhookFailure = typeof WEBHOOK_FAILURE[keyof typeof WEBHOOK_FAILURE]

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
    connectionsAccepted: new Counter({ name: 'quire_connections_accepted_total', help: 'Connections admitted, every transport (the rate MAX_NEW_CONNECTIONS_PER_SECOND bounds)', registers: [registry] }),
    draining: new Gauge({ name: 'quire_draining', help: '1 from SIGTERM on (/readyz answers 503), else 0', registers: [registry] }),
    connections: new Gauge({ name: 'quire_connections', help: 'Open connections, every transport', registers: [registry] }),
    connectionsByTransport: new Gauge({ name: 'quire_connections_by_transport', help: 'Open connections by transport: websocket, or stream (the HTTP fallback)', labelNames: ['transport'], registers: [registry] }),
    closesByTransport: new Counter({ name: 'quire_connection_closes_by_transport_total', help: 'Connections closed by the server, by transport and close code', labelNames: ['transport', 'code'], registers: [registry] }),
    streamUnknownSessions: new Counter({ name: 'quire_stream_unknown_sessions_total', help: 'POSTs of the stream transport for a session this instance does not hold (HTTP 404)', registers: [registry] }),
    documentsLoaded: new Gauge({ name: 'quire_documents_loaded', help: 'Documents loaded in memory', registers: [registry] }),
    documentsAlive: new Gauge({ name: 'quire_documents_alive', help: 'Document objects created minus destroyed: equals quire_documents_loaded unless one leaked out of the registry', registers: [registry] }),
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
    refusals: new Counter({ name: 'quire_limit_refusals_total', help: 'Clients refused or closed for going over a budget, by budget', labelNames: ['limit'], registers: [registry] }),
    pendingUpgrades: new Gauge({ name: 'quire_pending_upgrades', help: 'WebSocket upgrades not yet admitted (token being checked) or refused and closing', registers: [registry] }),
    eventStreams: new Gauge({ name: 'quire_event_streams', help: 'Open live event streams (GET /api/events)', registers: [registry] }),
    events: new Counter({ name: 'quire_events_total', help: 'Live events this instance made or heard, by type', labelNames: ['type'], registers: [registry] }),
    versions: new Counter({ name: 'quire_versions_total', help: 'Versions taken, by reason (auto, manual, before-restore, before-put)', labelNames: ['reason'], registers: [registry] }),
    versionsThinned: new Counter({ name: 'quire_versions_thinned_total', help: 'Versions deleted by the retention policy (thinning and HISTORY_MAX_VERSIONS)', registers: [registry] }),
    sendBacklog: new Gauge({ name: 'quire_send_backlog_bytes', help: 'Bytes sent to all connections but not yet handed to the network, at the last housekeeping tick', registers: [registry] }),
    webhookEvents: new Counter({ name: 'quire_webhook_events_total', help: 'Webhook events this instance emitted to at least one endpoint, by event type', labelNames: ['type'], registers: [registry] }),
    webhookDeliveries: new Counter({ name: 'quire_webhook_deliveries_total', help: 'Webhook requests this instance made, by result', labelNames: ['result'], registers: [registry] }),
    webhookFailures: new Counter({ name: 'quire_webhook_failures_total', help: 'Webhook deliveries given up, by reason', labelNames: ['reason'], registers: [registry] }),
    webhookQueued: new Gauge({ name: 'quire_webhook_queued', help: 'Webhook deliveries waiting to be delivered or retried (with Redis: over all instances)', registers: [registry] }),
    webhookInFlight: new Gauge({ name: 'quire_webhook_in_flight', help: 'Webhook requests this instance is making now', registers: [registry] }),
    webhookDeliverySeconds: new Histogram({
      name: 'quire_webhook_delivery_seconds',
      help: 'Time from a webhook event until an endpoint acknowledged it (2xx), retries included',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers: [registry],
    }),
  }
  for (const limit of Object.values(LIMIT)) m.refusals.inc({ limit }, 0)
  for (const result of Object.values(WEBHOOK_RESULT)) m.webhookDeliveries.inc({ result }, 0)
  for (const reason of Object.values(WEBHOOK_FAILURE)) m.webhookFailures.inc({ reason }, 0)
  for (const transport of TRANSPORTS) m.connectionsByTransport.set({ transport }, 0)
  return {
    ...m,
    /** Count a close the server makes (a refusal included), in both close counters. */
    countClose (transport: Transport, code: number): void {
      m.closes.inc({ code: String(code) })
      m.closesByTransport.inc({ transport, code: String(code) })
    },
  }
}

export type Metrics = ReturnType<typeof createMetrics>
