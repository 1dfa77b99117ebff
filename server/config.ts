/**
 * Configuration from environment variables (docs/configuration.md), validated once at start.
 * A bad value throws a ConfigError whose message is one line naming the variable.
 */
import { z } from 'zod'
import { parseOrigin, parseTrustProxy } from './addresses.js'

const DAY_MS = 86_400_000

const int = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number)
    .pipe(z.number().int().min(min).max(max))

/**
 * A comma-separated list of web origins (`https://app.example.com`, port
 * included when not the scheme's default) or `*`, normalized as browsers
 * send them in the Origin header.
 */
function originList () {
  return z.string().trim().transform((text, ctx) => {
    const origins: string[] = []
    for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (item === '*') { origins.push(item); continue }
      const origin = parseOrigin(item)
      if (origin === null) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(item)} is not an origin: write scheme://host[:port] (http or https, no path), or *` })
        return z.NEVER
      }
      origins.push(origin)
    }
    if (origins.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must list at least one origin' })
      return z.NEVER
    }
    return origins
  })
}

/** A claim name, dotted path (`realm_access.roles`) or namespaced URL claim (`https://example.com/docs`). */
const claimPath = z.string().trim().regex(/^\S+$/, 'must be a claim name or a dotted path, without spaces')

/** What a webhook endpoint may listen to (docs/webhooks.md, "Events"). */
export const WEBHOOK_EVENTS = ['document.created', 'document.changed', 'document.deleted', 'version.created', 'user.joined', 'user.left'] as const
export type WebhookEventType = typeof WEBHOOK_EVENTS[number]
/** The formats a webhook body may carry the document's content in. */
export const WEBHOOK_CONTENT_FORMATS = ['html', 'markdown', 'json', 'text'] as const
export type WebhookContentFormat = typeof WEBHOOK_CONTENT_FORMATS[number]

/**
 * One webhook endpoint, as WEBHOOKS lists it and the admin API takes it
 * (there the secret may be left out: one is generated). `*` listens to every event.
 */
export const webhookEndpointSchema = z.strictObject({
  url: z.string().trim().max(2048, 'must be at most 2048 characters').pipe(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })),
  events: z.array(z.enum([...WEBHOOK_EVENTS, '*'], { error: `must be one of ${WEBHOOK_EVENTS.join(', ')} or *` })).min(1, 'must list at least one event'),
  secret: z.string().min(16, 'must be at least 16 characters').max(1024, 'must be at most 1024 characters'),
  includeContent: z.enum(WEBHOOK_CONTENT_FORMATS, { error: `must be one of ${WEBHOOK_CONTENT_FORMATS.join(', ')}` }).optional(),
})
export type WebhookEndpointInput = z.infer<typeof webhookEndpointSchema>

/** The first problem zod found, as "field: message" (never the value: it may be a secret). */
export function firstIssue (error: z.ZodError): string {
  const issue = error.issues[0]
  const where = issue.path.filter((p) => typeof p === 'string').join('.')
  return `${where === '' ? '' : `${where}: `}${issue.message.replace(/\s+/g, ' ')}`
}

/** WEBHOOKS: a JSON array of endpoints, each checked; one URL at most once. */
const webhookList = z.string().transform((text, ctx) => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {"url", "events", "secret", "includeContent"?}' })
    return z.NEVER
  }
  if (!Array.isArray(parsed)) {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {"url", "events", "secret", "includeContent"?}' })
    return z.NEVER
  }
  const endpoints: WebhookEndpointInput[] = []
  for (const [i, item] of parsed.entries()) {
    const result = webhookEndpointSchema.safeParse(item)
    if (!result.success) {
      ctx.addIssue({ code: 'custom', message: `entry ${i}: ${firstIssue(result.error)}` })
      return z.NEVER
    }
    if (endpoints.some((e) => e.url === result.data.url)) {
      ctx.addIssue({ code: 'custom', message: `entry ${i}: url is listed twice` })
      return z.NEVER
    }
    endpoints.push(result.data)
  }
  return endpoints
})

const schema = z.object({
  PORT: int(0, 65535).default(1234),
  /** Unset: 0.0.0.0 when auth is configured, 127.0.0.1 in open mode (see `defaultHost`). */
  HOST: z.string().trim().min(1).optional(),
  /** Origins whose pages may use the sync endpoint and the API (docs/configuration.md, "Origins"). */
  ALLOWED_ORIGINS: originList().optional(),
  /** Sites that may frame /embed/<doc>; unset: ALLOWED_ORIGINS, else only Quire's own pages. */
  EMBED_ORIGINS: originList().optional(),
  /** Bearer token that /metrics requires. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Serve /metrics on this port (and not on PORT), bound to METRICS_HOST. */
  METRICS_PORT: int(0, 65535).optional(),
  METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** What to do with no auth configured: serve open mode, or refuse to start (docker-compose.yml). */
  OPEN_MODE: z.enum(['allow', 'refuse']).default('allow'),
  REDIS_URL: z.string().trim().regex(/^rediss?:\/\/\S+$/, 'must start with redis:// or rediss://').optional(),
  REDIS_CLUSTER_NODES: z.string().trim()
    .regex(/^[^\s:,]+:\d{1,5}(,[^\s:,]+:\d{1,5})*$/, 'must be comma-separated host:port pairs')
    .transform((s) => s.split(',').map((hp) => {
      const i = hp.lastIndexOf(':')
      return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) }
    })).optional(),
  /** Credentials for REDIS_CLUSTER_NODES (REDIS_URL carries its own: redis://user:pass@host). */
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  DATA_DIR: z.string().trim().min(1).default('./data'),
  /** Embedded store: fsync every batch ("always") or within a second ("everysec"). */
  DATA_FSYNC: z.enum(['always', 'everysec']).default('always'),
  /** Embedded store: least time between two write batches (group commit; docs/configuration.md). */
  DATA_COMMIT_INTERVAL_MS: int(0, 100).default(2),
  AUTH_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  // Tokens from an identity provider (docs/auth.md, "Tokens from an identity provider").
  /** Where the provider publishes its public keys; turns auth on like AUTH_SECRET. */
  AUTH_JWKS_URL: z.string().trim().pipe(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })).optional(),
  /** Required `iss` of every token, when set. */
  AUTH_ISSUER: z.string().trim().min(1).optional(),
  /** Accepted `aud` values (comma-separated); a token must name one of them, when set. */
  AUTH_AUDIENCE: z.string().trim()
    .regex(/^[^,\s]+(\s*,\s*[^,\s]+)*$/, 'must be a comma-separated list of audiences')
    .transform((s) => s.split(',').map((a) => a.trim())).optional(),
  /** Leeway for exp, nbf and iat against clocks that disagree. */
  AUTH_CLOCK_SKEW_SECONDS: int(0, 300).default(30),
  /** Where each part of the identity is read in the token: a claim name, a dotted path or a URL claim. */
  AUTH_CLAIM_USER_ID: claimPath.default('sub'),
  AUTH_CLAIM_NAME: claimPath.default('name'),
  AUTH_CLAIM_ALLOWED: claimPath.default('allowedDocumentNames'),
  AUTH_CLAIM_READONLY: claimPath.default('readonlyDocumentNames'),
  /** Longest wait for the JWKS endpoint (a refused upgrade waits at most this). */
  AUTH_JWKS_TIMEOUT_MS: int(100, 60_000).default(3_000),
  /** After a successful fetch, a token with an unknown key id refetches no sooner than this. */
  AUTH_JWKS_COOLDOWN_MS: int(100, 3_600_000).default(30_000),
  /** Keys older than this are refetched in the background (the cached ones serve meanwhile). */
  AUTH_JWKS_REFRESH_MS: int(100, 86_400_000).default(600_000),
  /** Longest wait for the library's `authenticate` hook; then the client is refused with 4503 (it retries). */
  AUTHENTICATE_TIMEOUT_MS: int(100, 300_000).default(10_000),
  API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_MESSAGE_BYTES: int(1024, 1024 * 1024 * 1024).default(16 * 1024 * 1024),
  /** Sustained messages per second one connection may send. */
  RATE_LIMIT_PER_SECOND: int(1, 1_000_000).default(200),
  /** Messages a connection may send in a burst above the sustained rate. */
  RATE_LIMIT_BURST: int(1, 10_000_000).default(2000),
  /** Upper bound on a graceful drain before the process exits anyway; unset: DRAIN_GRACE_MS + DRAIN_SPREAD_MS + SHUTDOWN_MARGIN_MS. */
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).optional(),
  /** Draining: how long /readyz says 503 while everything is still served, so a load balancer stops sending new clients. */
  DRAIN_GRACE_MS: int(0, 300_000).default(5_000),
  /** Draining: the window over which connections are closed (1012) in batches, so the other instances are not hit at once. */
  DRAIN_SPREAD_MS: int(0, 300_000).default(10_000),
  /** Connections this instance accepts before answering 4503. */
  MAX_CONNECTIONS: int(1, 10_000_000).default(100_000),
  /** Connections one client address holds (TRUST_PROXY decides what the address is); beyond it 4429. */
  MAX_CONNECTIONS_PER_IP: int(1, 10_000_000).default(200),
  /** Connections one user (token `sub`) holds, with AUTH_SECRET; beyond it 4429. */
  MAX_CONNECTIONS_PER_USER: int(1, 10_000_000).default(100),
  /** New connections this instance admits per second, sustained (token bucket); beyond it 4503 with a retry-after hint. */
  MAX_NEW_CONNECTIONS_PER_SECOND: int(1, 10_000_000).default(500),
  /** ...and at once, above the sustained rate. */
  MAX_NEW_CONNECTIONS_BURST: int(1, 10_000_000).default(1_000),
  /** New connections one client address may open per second, sustained; beyond it 4503 with a retry-after hint. */
  MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND: int(1, 10_000_000).default(50),
  /** ...and at once (a whole office behind one NAT reconnecting after a restart). */
  MAX_NEW_CONNECTIONS_PER_IP_BURST: int(1, 10_000_000).default(200),
  /** Upgrades not yet admitted (token being checked) or refused and closing; beyond it HTTP 503. */
  MAX_PENDING_UPGRADES: int(1, 10_000_000).default(1000),
  /** A connection not reading what it is sent is closed (4503) past this; unset: MAX_MESSAGE_BYTES, never below it. */
  MAX_SEND_BACKLOG_BYTES: int(64 * 1024, 2 ** 40).optional(),
  /** All connections' unsent bytes together; past it the largest backlogs are closed (4503). */
  MAX_INSTANCE_BACKLOG_BYTES: int(1024 * 1024, 2 ** 40).default(512 * 1024 * 1024),
  /** What one client may send while its document loads (4503 past it); unset: twice MAX_MESSAGE_BYTES, never below one. */
  MAX_WAITING_BYTES: int(64 * 1024, 2 ** 40).optional(),
  /** A socket that has not sent a complete HTTP request (or upgrade) head in this long is closed. */
  HEADERS_TIMEOUT_MS: int(100, 300_000).default(10_000),
  /**
   * Whose X-Forwarded-For to believe for the client address: unset, none;
   * a number N, the N proxies in front of Quire; or a comma-separated list
   * of proxy addresses or CIDR ranges.
   */
  TRUST_PROXY: z.string().trim().transform((value, ctx) => {
    const trust = parseTrustProxy(value)
    if (trust === null) {
      ctx.addIssue({ code: 'custom', message: 'must be a number of proxies (0-32) or comma-separated IP addresses or CIDR ranges' })
      return z.NEVER
    }
    return trust
  }).optional(),
  /** Where the built web client lives; empty disables serving it. */
  CLIENT_DIR: z.string().optional(),
  /**
   * A connection that has been sent nothing for this long gets an empty
   * awareness update. Stock clients give up after 30 s of silence and
   * docs/protocol.md ("Keep-alive") promises a message at least every 15 s, so it is capped well
   * below that (the housekeeping tick adds up to a quarter of it). Tests
   * lower it to watch keep-alives without waiting.
   */
  KEEPALIVE_MS: int(50, 12_000).default(10_000),

  // Webhooks (docs/webhooks.md).
  /** Endpoints and the events they want (JSON); more can be added at /api/admin/webhooks. */
  WEBHOOKS: webhookList.optional(),
  /** Let the admin API add endpoints on loopback, link-local and private addresses (WEBHOOKS may always). */
  WEBHOOKS_ALLOW_PRIVATE: z.enum(['0', '1'], { error: 'must be 0 or 1' }).default('0').transform((v) => v === '1'),
  /** document.changed waits for this long without a change... */
  WEBHOOK_DEBOUNCE_MS: int(0, 3_600_000).default(2_000),
  /** ...but never longer than this after the first change it reports. */
  WEBHOOK_MAX_WAIT_MS: int(0, 86_400_000).default(10_000),
  /** A delivery is retried for this long after its event, then given up. */
  WEBHOOK_RETRY_FOR_MS: int(0, 7 * 86_400_000).default(3_600_000),
  /** Bound of the first retry's delay; it doubles on every retry (full jitter), up to 10 minutes. */
  WEBHOOK_RETRY_BASE_MS: int(1, 3_600_000).default(1_000),
  /** Longest wait for one delivery's answer. */
  WEBHOOK_TIMEOUT_MS: int(100, 300_000).default(10_000),
  /** Deliveries waiting (queued or being retried), over all instances; events past it are dropped and counted. */
  WEBHOOK_MAX_QUEUED: int(1, 10_000_000).default(10_000),
  /** With Redis: an instance silent this long counts as dead, and another takes over its deliveries and presence. */
  WEBHOOK_CLAIM_AFTER_MS: int(1_000, 3_600_000).default(10_000),
  /** Content (includeContent) larger than this is left out of the body, which says so. */
  WEBHOOK_MAX_CONTENT_BYTES: int(0, 64 * 1024 * 1024).default(1024 * 1024),

  // Budgets a document keeps for each connection (docs/security.md, "Limits").
  /** Awareness client ids one connection may own (a tab has one). */
  MAX_AWARENESS_CLIENT_IDS: int(1, 1000).default(8),
  /** Bytes of one awareness state (a user, a colour, a caret). */
  MAX_AWARENESS_STATE_BYTES: int(64, 1024 * 1024).default(8 * 1024),
  /** Live awareness states in one document (people present). */
  MAX_PRESENCE_PER_DOCUMENT: int(1, 1_000_000).default(10_000),
  /** Sync replies one connection may have waiting for durability. */
  MAX_GATED_REPLIES: int(1, 100_000).default(64),
  /** Deletions of existing content one update may make (each may split an item). */
  MAX_UPDATE_DELETE_RANGES: int(1, 100_000_000).default(50_000),
  /** Event-loop time one connection may cost (fresh sync encodings, integrating updates), ms per second sustained. */
  WORK_BUDGET_MS_PER_SECOND: int(1, 1000).default(100),
  /** ...and at once. */
  WORK_BUDGET_BURST_MS: int(1, 600_000).default(2_000),

  // The live event stream, GET /api/events (docs/events.md).
  /** A stream is sent a `: ping` comment this often (docs/events.md promises one at least every 15 s; tests lower it). */
  EVENTS_HEARTBEAT_MS: int(50, 15_000).default(10_000),
  /** Events kept for Last-Event-ID replay: at most this many... */
  EVENTS_BUFFER: int(1, 1_000_000).default(10_000),
  /** ...and none older than this; a client that was away longer gets a `reset`. */
  EVENTS_RETENTION_MS: int(0, 86_400_000).default(120_000),
  /** A document's changes are reported at most once per this (the first at once). */
  EVENTS_ACTIVITY_MS: int(0, 600_000).default(1_000),
  /** Event streams this instance holds; beyond it HTTP 503. */
  EVENTS_MAX_STREAMS: int(1, 10_000_000).default(10_000),
  /** Event streams one client address holds (TRUST_PROXY decides what the address is); beyond it HTTP 429. */
  EVENTS_MAX_STREAMS_PER_IP: int(1, 10_000_000).default(20),
  /** Event streams one user (token `sub`) holds; beyond it HTTP 429. */
  EVENTS_MAX_STREAMS_PER_USER: int(1, 10_000_000).default(20),
  /** Documents one stream may name in `docs=`; beyond it HTTP 400. */
  EVENTS_MAX_DOCS: int(1, 100_000).default(100),
  /** Bytes a stream's client may leave unread before the stream is closed. */
  EVENTS_MAX_BACKLOG_BYTES: int(16 * 1024, 2 ** 30).default(1024 * 1024),
  // The content API (docs/api.md).
  /** Longest a document listing page may be (`limit`); larger asks get 400. */
  API_LIST_MAX: int(1, 10_000).default(1000),
  /** Longest parsing one HTML, Markdown or JSON body may take; beyond it 413, nothing changed. */
  CONTENT_PARSE_TIMEOUT_MS: int(10, 600_000).default(5_000),
  // Version history (docs/history.md).
  /** Take versions automatically while documents are edited. */
  HISTORY_AUTO: z.enum(['on', 'off']).default('on'),
  /** An automatic version once a document has had no edit for this long... */
  HISTORY_QUIET_MS: int(50, DAY_MS).default(30_000),
  /** ...and at least this often while it is edited without a pause. */
  HISTORY_MAX_INTERVAL_MS: int(50, DAY_MS).default(600_000),
  /** Keep every version younger than this... */
  HISTORY_KEEP_ALL_MS: int(0, 100 * 365 * DAY_MS).default(7 * DAY_MS),
  /** ...then one per hour until this age, one per day until HISTORY_DAILY_MS, then one per week. */
  HISTORY_HOURLY_MS: int(0, 100 * 365 * DAY_MS).default(30 * DAY_MS),
  HISTORY_DAILY_MS: int(0, 100 * 365 * DAY_MS).default(365 * DAY_MS),
  /** Versions one document keeps at most; the oldest go first, and versions asked for beyond it are refused (429). */
  HISTORY_MAX_VERSIONS: int(1, 100_000).default(1000),
})

type Parsed = z.infer<typeof schema>

/** Every variable the configuration reads (the library takes them as settings, docs/server-library.md). */
export type ConfigKey = keyof Parsed
export const CONFIG_KEYS = Object.keys(schema.shape) as ConfigKey[]

/**
 * The configuration once defaults that depend on other variables are filled
 * in: HOST (on auth), and the budgets that follow MAX_MESSAGE_BYTES.
 */
export type Config = Omit<Parsed, 'HOST'> & { HOST: string, MAX_SEND_BACKLOG_BYTES: number, MAX_WAITING_BYTES: number, SHUTDOWN_TIMEOUT_MS: number }

/** What an unset SHUTDOWN_TIMEOUT_MS leaves after the grace and the spread: making everything durable, unloading, closing the store. */
export const SHUTDOWN_MARGIN_MS = 10_000

/** With auth, every interface; in open mode only this machine, unless HOST says otherwise. */
function defaultHost (config: Parsed): string {
  return authEnabled(config) ? '0.0.0.0' : '127.0.0.1'
}

export class ConfigError extends Error {}

/** Variables for which an empty value means something (CLIENT_DIR="": serve no web client). */
const EMPTY_MEANS_SOMETHING = new Set(['CLIENT_DIR'])

/** Parse environment variables; empty strings count as unset (but see above). */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {}
  for (const key of CONFIG_KEYS) {
    const value = env[key]
    if (value !== undefined && (value !== '' || EMPTY_MEANS_SOMETHING.has(key))) input[key] = value
  }
  const result = schema.safeParse(input)
  if (!result.success) {
    const issue = result.error.issues[0]
    const name = String(issue.path[0] ?? 'environment')
    // Secrets (and URLs, which may carry a password) are never echoed;
    // JSON.stringify keeps the line one line whatever the value holds.
    const secret = name.includes('SECRET') || name.includes('KEY') || name.includes('TOKEN') || name.endsWith('_URL') || name === 'WEBHOOKS'
    const shown = input[name] === undefined || secret ? '' : ` (got ${JSON.stringify(input[name])})`
    throw new ConfigError(`invalid ${name}${shown}: ${issue.message.replace(/\s+/g, ' ')}`)
  }
  const atLeastOneMessage = (name: 'MAX_SEND_BACKLOG_BYTES' | 'MAX_WAITING_BYTES'): void => {
    const value = result.data[name]
    if (value !== undefined && value < result.data.MAX_MESSAGE_BYTES) {
      throw new ConfigError(`invalid ${name} (got "${value}"): must be at least MAX_MESSAGE_BYTES (${result.data.MAX_MESSAGE_BYTES}), or a single largest message could never pass`)
    }
  }
  atLeastOneMessage('MAX_SEND_BACKLOG_BYTES')
  atLeastOneMessage('MAX_WAITING_BYTES')
  if (result.data.REDIS_URL && result.data.REDIS_CLUSTER_NODES) {
    throw new ConfigError('invalid REDIS_CLUSTER_NODES: set either REDIS_URL or REDIS_CLUSTER_NODES, not both')
  }
  const data = result.data
  // A token rule with nothing to check tokens against would leave the server
  // in open mode while its operator believes it is locked (a misspelt
  // AUTH_JWKS_URL, say): refuse to start instead.
  for (const key of Object.keys(input)) {
    if (!key.startsWith('AUTH_')) continue
    if (!authEnabled(data)) throw new ConfigError(`invalid ${key}: needs AUTH_SECRET or AUTH_JWKS_URL (without either, Quire runs in open mode)`)
    if (key.startsWith('AUTH_JWKS_') && data.AUTH_JWKS_URL === undefined) throw new ConfigError(`invalid ${key}: needs AUTH_JWKS_URL`)
  }
  if (data.METRICS_PORT !== undefined && data.METRICS_PORT !== 0 && data.METRICS_PORT === data.PORT) {
    throw new ConfigError(`invalid METRICS_PORT (got "${data.METRICS_PORT}"): must differ from PORT`)
  }
  const drainMs = data.DRAIN_GRACE_MS + data.DRAIN_SPREAD_MS
  if (data.SHUTDOWN_TIMEOUT_MS !== undefined && drainMs > 0 && data.SHUTDOWN_TIMEOUT_MS <= drainMs) {
    throw new ConfigError(`invalid SHUTDOWN_TIMEOUT_MS (got "${data.SHUTDOWN_TIMEOUT_MS}"): must be more than DRAIN_GRACE_MS + DRAIN_SPREAD_MS (${drainMs}), or the drain is cut short before every client is closed`)
  }
  if (data.HISTORY_HOURLY_MS < data.HISTORY_KEEP_ALL_MS || data.HISTORY_DAILY_MS < data.HISTORY_HOURLY_MS) {
    throw new ConfigError(`invalid ${data.HISTORY_HOURLY_MS < data.HISTORY_KEEP_ALL_MS ? 'HISTORY_HOURLY_MS' : 'HISTORY_DAILY_MS'}: ` +
      'the history tiers must grow: HISTORY_KEEP_ALL_MS <= HISTORY_HOURLY_MS <= HISTORY_DAILY_MS')
  }
  if (data.WEBHOOK_MAX_WAIT_MS < data.WEBHOOK_DEBOUNCE_MS) {
    throw new ConfigError(`invalid WEBHOOK_MAX_WAIT_MS (got "${data.WEBHOOK_MAX_WAIT_MS}"): must be at least WEBHOOK_DEBOUNCE_MS (${data.WEBHOOK_DEBOUNCE_MS})`)
  }
  if (data.OPEN_MODE === 'refuse' && !authEnabled(data)) {
    throw new ConfigError('neither AUTH_SECRET nor AUTH_JWKS_URL is set and OPEN_MODE=refuse: set AUTH_SECRET to a random secret of 16+ characters ' +
      '(e.g. `openssl rand -hex 32`), or set OPEN_MODE=allow to serve without authentication (anyone who reaches the server can then read and write every document)')
  }
  return {
    ...data,
    HOST: data.HOST ?? defaultHost(data),
    // A client that has caught up can always be sent one largest message.
    MAX_SEND_BACKLOG_BYTES: data.MAX_SEND_BACKLOG_BYTES ?? data.MAX_MESSAGE_BYTES,
    // A stock client reconnecting sends its sync step 1, its offline edits (one message) and its presence.
    MAX_WAITING_BYTES: data.MAX_WAITING_BYTES ?? 2 * data.MAX_MESSAGE_BYTES,
    SHUTDOWN_TIMEOUT_MS: data.SHUTDOWN_TIMEOUT_MS ?? drainMs + SHUTDOWN_MARGIN_MS,
  }
}

/**
 * Whether clients need a token: AUTH_SECRET or AUTH_JWKS_URL (or both) is
 * set. Otherwise Quire runs in open mode. Everything that is safe only with
 * auth on (listening on every interface, any origin) asks this one question.
 */
export function authEnabled (config: Pick<Parsed, 'AUTH_SECRET' | 'AUTH_JWKS_URL'>): boolean {
  return config.AUTH_SECRET !== undefined || config.AUTH_JWKS_URL !== undefined
}
