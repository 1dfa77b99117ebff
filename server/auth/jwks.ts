/**
 * An identity provider's public keys, fetched from its JWKS URL, for
 * verifying the tokens it signs. jose's createRemoteJWKSet keeps the set,
 * refetches it when a token names an unknown key id (at most once per
 * cooldown after a successful fetch) and bounds each request with a timeout.
 * Around it, this module makes sure the upgrade path never waits on an
 * unhealthy provider and never turns into unbounded traffic towards it:
 *
 * - Keys never expire on the request path: once the set is older than
 *   `refreshMs`, it is refetched in the background while the cached keys
 *   keep verifying, and kept when that fetch fails.
 * - While the endpoint is failing ("an outage", from the first failed fetch
 *   to the next good one), tokens are checked against the cached keys only,
 *   so a refusal comes at once; the endpoint is probed in the background,
 *   no more often than every 1 s, 2 s, 4 s… up to the cooldown. A flood of
 *   tokens with made-up key ids costs the provider nothing more.
 * - The response body is bounded; a redirect or any status but 200 is a
 *   failure.
 * - One warning per outage, one line when the endpoint is back, and metrics.
 */
import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors, type FetchImplementation, type JWTVerifyGetKey } from 'jose'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Logger } from '../ops/log.js'

/** A key set is a few kilobytes; a body past this is not one. */
const MAX_JWKS_BYTES = 1024 * 1024
/** First delay before the endpoint is probed again after a failure; it doubles up to the cooldown. */
const FIRST_RETRY_MS = 1000

export interface JwksOptions {
  url: string
  timeoutMs: number
  cooldownMs: number
  refreshMs: number
  log: Logger
  registry?: Registry
}

export interface JwksKeys {
  /** A key resolver for jose's jwtVerify. */
  readonly getKey: JWTVerifyGetKey
  /** Fetch the set now, in the background (at start, so the first client does not wait). */
  warm (): void
}

/** The endpoint is failing and the cached keys do not include the token's key. */
export class JwksUnavailable extends Error {}

/** The URL as logs may show it: no credentials, no query. */
function shownUrl (url: string): string {
  const u = new URL(url)
  return `${u.origin}${u.pathname}`
}

async function boundedText (res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? 0)
  if (declared > limit) throw new Error(`JWKS response of ${declared} bytes is over ${limit}`)
  if (!res.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  // The request's abort signal (jose's timeout) also ends this read.
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength
    if (size > limit) throw new Error(`JWKS response over ${limit} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

const isObject = (value: unknown): value is object => value !== null && typeof value === 'object' && !Array.isArray(value)

/** How many keys a JWKS holds, or null when it is not one (jose's own test, so what passes here, jose takes). */
function keyCount (json: unknown): number | null {
  if (!isObject(json)) return null
  const keys = (json as { keys?: unknown }).keys
  return Array.isArray(keys) && keys.every(isObject) ? keys.length : null
}

export function createJwksKeys (opts: JwksOptions): JwksKeys {
  const { log } = opts
  const url = shownUrl(opts.url)
  const registers = opts.registry ? [opts.registry] : []
  const fetches = new Counter({ name: 'quire_auth_jwks_fetches_total', help: 'Fetches of the JWKS URL, by result (ok, error)', labelNames: ['result'], registers })
  const up = new Gauge({ name: 'quire_auth_jwks_up', help: '1 while the last fetch of the JWKS URL succeeded', registers })
  const keysHeld = new Gauge({ name: 'quire_auth_jwks_keys', help: 'Public keys held from the JWKS URL', registers })

  let loadedAt: number | undefined
  let failures = 0
  let retryAt = 0
  /** The cached set as a resolver, used during an outage (the set cannot change then). */
  let cachedOnly: JWTVerifyGetKey | undefined

  const succeeded = (keys: number): void => {
    fetches.inc({ result: 'ok' })
    up.set(1)
    keysHeld.set(keys)
    if (failures > 0) log.info({ url, failedFetches: failures }, 'JWKS endpoint reachable again')
    failures = 0
    retryAt = 0
    cachedOnly = undefined
    loadedAt = Date.now()
  }
  const failed = (err: unknown): void => {
    fetches.inc({ result: 'error' })
    up.set(0)
    if (failures === 0) {
      log.warn({ url, err: err instanceof Error ? err.message : String(err) },
        'JWKS endpoint unreachable: tokens signed with keys already fetched are still accepted, others refused until it is back')
    }
    retryAt = Date.now() + Math.min(opts.cooldownMs, FIRST_RETRY_MS * 2 ** Math.min(failures, 20))
    failures++
  }

  const guardedFetch: FetchImplementation = async (href, init) => {
    try {
      const res = await fetch(href, init)
      if (res.status !== 200) throw new Error(`JWKS endpoint answered HTTP ${res.status}`)
      const body = await boundedText(res, MAX_JWKS_BYTES)
      const keys = keyCount(JSON.parse(body))
      if (keys === null) throw new Error('JWKS endpoint did not answer with a JSON Web Key Set')
      succeeded(keys)
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } })
    } catch (err) {
      failed(err)
      throw err
    }
  }

  const remote = createRemoteJWKSet(new URL(opts.url), {
    timeoutDuration: opts.timeoutMs,
    cooldownDuration: opts.cooldownMs,
    // Staleness is handled here, in the background: jose would refetch on the request path.
    cacheMaxAge: Infinity,
    [customFetch]: guardedFetch,
  })

  const refreshInBackground = (): void => {
    if (!remote.reloading) remote.reload().catch(() => { /* counted and logged by guardedFetch */ })
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    const now = Date.now()
    if (failures > 0) {
      if (now >= retryAt) refreshInBackground()
      if (cachedOnly === undefined) {
        const jwks = remote.jwks()
        if (jwks === undefined) throw new JwksUnavailable('JWKS endpoint unreachable and no keys fetched yet')
        cachedOnly = createLocalJWKSet(jwks)
      }
      try {
        return await cachedOnly(header, token)
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey) throw new JwksUnavailable('JWKS endpoint unreachable and the token\'s key is not among those fetched')
        throw err
      }
    }
    if (loadedAt !== undefined && now - loadedAt >= opts.refreshMs) refreshInBackground()
    // Awaits a fetch only for the very first set, or for an unknown key id
    // past the cooldown; either is bounded by the timeout.
    return remote(header, token)
  }

  return {
    getKey,
    warm: refreshInBackground,
  }
}
