/**
 * The HTTP routes of live presence (docs/events.md, docs/api.md):
 *
 *   GET /api/events?docs=a,b | prefix=team/    the live event stream (SSE)
 *   GET /api/documents/<name>/presence         who is in a document now, across instances
 *
 * Both are authorised like the sync endpoint: a client token (`token=` or
 * `Authorization: Bearer`) that covers the documents, or the API key
 * (server to server); in open mode, anyone; with the library's
 * authenticate hook, the hook on each document named. Budgets (docs/security.md,
 * "Limits"): EVENTS_MAX_STREAMS (503), EVENTS_MAX_STREAMS_PER_IP and
 * _PER_USER (429), EVENTS_MAX_DOCS (400), EVENTS_MAX_BACKLOG_BYTES (the
 * stream is closed), each counted in quire_limit_refusals_total.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { CLOSE } from '../../common/close-codes.js'
import { isValidDocName } from '../../common/doc-name.js'
import { accessFor } from '../auth/access.js'
import { AuthError, type Authenticator, type Grant } from '../auth/token.js'
import type { Live } from '../backend/live.js'
import { bearerMatches } from '../http/bearer.js'
import { NOTHING_ACTIVE } from '../http/headers.js'
import { LIMIT, type Limit, type Metrics } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'
import { TrackedTimer } from '../ops/timers.js'
import { Tally } from '../transport/admission.js'
import type { EventHub } from './hub.js'
import { byArrival, unionOf } from './mirror.js'
import { BadRequest, parseStreamQuery, streamFilter } from './scope.js'
import { EventStream } from './stream.js'

export interface LiveRoutesOptions {
  hub: EventHub
  live: Live
  auth: Authenticator
  apiKey: string | undefined
  metrics: Metrics
  log: Logger
  /** The client address per-address budgets count (server/transport/client-address.ts). */
  clientAddress: (req: IncomingMessage) => string
  heartbeatMs: number
  maxStreams: number
  maxStreamsPerIp: number
  maxStreamsPerUser: number
  maxDocs: number
  maxBacklogBytes: number
}

/** Most documents a prefix stream's `reset` lists. */
export const MAX_SNAPSHOT_DOCS = 1_000

const PRESENCE_ROUTE = /^\/api\/documents\/(.+)\/presence$/

/** Who asks: a token's grant, or null for the API key and open mode (every document). */
type Asker = { grant: Grant | null } | { status: 401 | 503, error: string }

export interface LiveRoutes {
  handle (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean>
  /** End every stream (draining: their clients reconnect elsewhere). */
  closeAll (): void
}

export function createLiveRoutes (opts: LiveRoutesOptions): LiveRoutes {
  const { hub, metrics } = opts
  const streams = new Set<EventStream>()
  const perAddress = new Tally()
  const perUser = new Tally()
  const refuse = (res: ServerResponse, limit: Limit, status: number, error: string): void => {
    metrics.refusals.inc({ limit })
    json(res, status, { error })
  }

  // One heartbeat for every stream; a stream whose socket has not drained for two beats is closed.
  const heartbeat = setInterval(() => {
    const now = Date.now()
    for (const stream of streams) stream.ping(now, 2 * opts.heartbeatMs)
  }, opts.heartbeatMs)
  heartbeat.unref()

  /** `docs`: the documents asked about (null: a prefix), for an authenticate hook, which decides per document. */
  const whoAsks = async (req: IncomingMessage, token: string | null, docs: readonly string[] | null): Promise<Asker> => {
    if (opts.apiKey !== undefined && bearerMatches(req, opts.apiKey)) return { grant: null }
    if (opts.auth.open) return { grant: null }
    const header = req.headers.authorization
    const given = token ?? (header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined)
    try {
      return { grant: await opts.auth.identify(given ?? undefined, { docs, request: req }) }
    } catch (err) {
      if (err instanceof AuthError) return { status: err.code === CLOSE.unavailable ? 503 : 401, error: err.message }
      throw err
    }
  }

  const openStream = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET') return methodNotAllowed(res)
    const query = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : ''
    let asked
    try {
      asked = parseStreamQuery(query, opts.maxDocs)
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err
      if (err.message.startsWith('too many documents')) metrics.refusals.inc({ limit: LIMIT.eventStreamDocs })
      return json(res, 400, { error: err.message })
    }
    const asker = await whoAsks(req, asked.token, asked.docs)
    if ('status' in asker) return json(res, asker.status, { error: asker.error })
    const scope = streamFilter(asked, asker.grant)
    if ('forbidden' in scope) return json(res, 403, { error: scope.forbidden })
    if (streams.size >= opts.maxStreams) return refuse(res, LIMIT.eventStreams, 503, 'too many event streams on this instance')
    const address = opts.clientAddress(req)
    if (perAddress.count(address) >= opts.maxStreamsPerIp) return refuse(res, LIMIT.eventStreamsPerIp, 429, 'too many event streams from this address')
    const user = asker.grant?.userId ?? null
    if (user !== null && perUser.count(user) >= opts.maxStreamsPerUser) return refuse(res, LIMIT.eventStreamsPerUser, 429, 'too many event streams for this user')

    const stream = new EventStream(res, {
      wants: scope.wants,
      maxBacklogBytes: opts.maxBacklogBytes,
      tooSlow: () => metrics.refusals.inc({ limit: LIMIT.eventStreamBacklog }),
    })
    // Held from here, across the registry read, so the budgets count it.
    streams.add(stream)
    perAddress.add(address)
    if (user !== null) perUser.add(user)
    metrics.eventStreams.set(streams.size)
    let unsubscribe = (): void => {}
    let expiry: TrackedTimer | null = null
    res.once('close', () => {
      unsubscribe()
      expiry?.clear()
      streams.delete(stream)
      perAddress.remove(address)
      if (user !== null) perUser.remove(user)
      metrics.eventStreams.set(streams.size)
    })
    if (asked.docs !== null) await hub.refresh(asked.docs)
    if (stream.isClosed) return
    const expiresAt = asker.grant?.expiresAt
    // The token stops being good: so does the stream (a reconnect with an expired token is refused).
    if (expiresAt !== undefined) expiry = new TrackedTimer(metrics.timersActive, () => stream.close(), Math.max(0, expiresAt - Date.now()))
    stream.open()
    // From here to subscribe, nothing yields: no event can fall between the catch-up and the live ones.
    const last = headerValue(req.headers['last-event-id'])
    const missed = last === null ? null : hub.replay(last, scope.wants)
    if (missed !== null) {
      for (const event of missed) stream.send(event, hub.ring.idOf(event.seq))
    } else {
      stream.reset(hub.ring.idOf(hub.ring.lastSeq), hub.snapshot(asked.docs ?? [], asked.prefix !== null, scope.wants, MAX_SNAPSHOT_DOCS))
    }
    unsubscribe = hub.subscribe(stream)
  }

  const presence = async (req: IncomingMessage, res: ServerResponse, encoded: string): Promise<void> => {
    let name: string | null
    try {
      name = decodeURIComponent(encoded)
    } catch {
      name = null
    }
    if (name === null || !isValidDocName(name)) return json(res, 404, { error: 'invalid document name' })
    if (req.method !== 'GET') return methodNotAllowed(res)
    const asker = await whoAsks(req, new URL(req.url ?? '/', 'http://localhost').searchParams.get('token'), [name])
    if ('status' in asker) return json(res, asker.status, { error: asker.error })
    if (asker.grant !== null && accessFor(name, asker.grant.allowed, asker.grant.readonly) === 'none') return json(res, 403, { error: 'the token does not cover this document' })
    let read
    try {
      read = await opts.live.read(name)
    } catch (err) {
      opts.log.warn({ err, doc: name }, 'presence registry not readable')
      return json(res, 503, { error: 'presence registry unavailable' })
    }
    json(res, 200, byArrival(unionOf(read.users.values()).values()))
  }

  return {
    async handle (req, res, pathname) {
      if (pathname === '/api/events') {
        await openStream(req, res)
        return true
      }
      const match = PRESENCE_ROUTE.exec(pathname)
      if (match === null) return false
      await presence(req, res, match[1])
      return true
    },
    closeAll () {
      clearInterval(heartbeat)
      for (const stream of [...streams]) stream.close()
    },
  }
}

function headerValue (value: string | string[] | undefined): string | null {
  const v = Array.isArray(value) ? value[0] : value
  return v === undefined || v === '' ? null : v
}

function methodNotAllowed (res: ServerResponse): void {
  res.setHeader('allow', 'GET')
  json(res, 405, { error: 'method not allowed' })
}

function json (res: ServerResponse, status: number, body: unknown): void {
  if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json', 'content-security-policy': NOTHING_ACTIVE })
  res.end(JSON.stringify(body) + '\n')
}
