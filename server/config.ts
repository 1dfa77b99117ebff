/**
 * Configuration from environment variables (contract §2), validated once at start.
 * A bad value throws a ConfigError whose message is one line naming the variable.
 */
import { z } from 'zod'
import { parseTrustProxy } from './transport/client-address.js'

const int = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number)
    .pipe(z.number().int().min(min).max(max))

const schema = z.object({
  PORT: int(0, 65535).default(1234),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
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
  AUTH_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_MESSAGE_BYTES: int(1024, 1024 * 1024 * 1024).default(16 * 1024 * 1024),
  /** Sustained messages per second one connection may send. */
  RATE_LIMIT_PER_SECOND: int(1, 1_000_000).default(200),
  /** Messages a connection may send in a burst above the sustained rate. */
  RATE_LIMIT_BURST: int(1, 10_000_000).default(2000),
  /** Upper bound on a graceful drain before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  /** Connections this instance accepts before answering 4503. */
  MAX_CONNECTIONS: int(1, 10_000_000).default(100_000),
  /** Connections one client address holds (TRUST_PROXY decides what the address is); beyond it 4429. */
  MAX_CONNECTIONS_PER_IP: int(1, 10_000_000).default(200),
  /** Connections one user (token `sub`) holds, with AUTH_SECRET; beyond it 4429. */
  MAX_CONNECTIONS_PER_USER: int(1, 10_000_000).default(100),
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
   * awareness update. Stock clients give up after 30 s of silence and the
   * contract promises a message at least every 15 s, so it is capped well
   * below that (the housekeeping tick adds up to a quarter of it). Tests
   * lower it to watch keep-alives without waiting.
   */
  KEEPALIVE_MS: int(50, 12_000).default(10_000),
})

/** The budgets whose defaults follow MAX_MESSAGE_BYTES are always filled in by loadConfig. */
export type Config = z.infer<typeof schema> & { MAX_SEND_BACKLOG_BYTES: number, MAX_WAITING_BYTES: number }

export class ConfigError extends Error {}

/** Variables for which an empty value means something (CLIENT_DIR="": serve no web client). */
const EMPTY_MEANS_SOMETHING = new Set(['CLIENT_DIR'])

/** Parse environment variables; empty strings count as unset (but see above). */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {}
  for (const key of Object.keys(schema.shape)) {
    const value = env[key]
    if (value !== undefined && (value !== '' || EMPTY_MEANS_SOMETHING.has(key))) input[key] = value
  }
  const result = schema.safeParse(input)
  if (!result.success) {
    const issue = result.error.issues[0]
    const name = String(issue.path[0] ?? 'environment')
    // Secrets (and URLs, which may carry a password) are never echoed;
    // JSON.stringify keeps the line one line whatever the value holds.
    const secret = name.includes('SECRET') || name.includes('KEY') || name === 'REDIS_URL'
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
  return {
    ...result.data,
    // A client that has caught up can always be sent one largest message.
    MAX_SEND_BACKLOG_BYTES: result.data.MAX_SEND_BACKLOG_BYTES ?? result.data.MAX_MESSAGE_BYTES,
    // A stock client reconnecting sends its sync step 1, its offline edits (one message) and its presence.
    MAX_WAITING_BYTES: result.data.MAX_WAITING_BYTES ?? 2 * result.data.MAX_MESSAGE_BYTES,
  }
}
