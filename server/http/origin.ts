/**
 * Which web pages may use the sync endpoint and the HTTP API from a browser
 * (docs/configuration.md, "Origins"). Browsers attach an `Origin` header to
 * WebSocket upgrades and cross-origin requests; without this check any page a
 * user visits could read and write an open-mode server on their machine or
 * network. Requests with no `Origin` (servers, Node clients) are not
 * affected: they are not someone's browser acting for a page.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseOrigin } from '../addresses.js'

export interface OriginPolicyOptions {
  /** ALLOWED_ORIGINS, normalized (`*` allows every origin); undefined when unset. */
  allowed: readonly string[] | undefined
  /** With auth on and ALLOWED_ORIGINS unset, any origin: tokens guard the documents. */
  authOn: boolean
  /** The address the server listens on (HOST). */
  host: string
}

/** Why a request is refused: a short reason (a WebSocket close frame's) and one line for people. */
export interface Refusal { reason: string, detail: string }

export interface OriginPolicy {
  /** Null when `req` may proceed. */
  refusal (req: IncomingMessage): Refusal | null
  /**
   * CORS for an allowed browser request to the API: answers a preflight
   * (returns true: done) or adds the headers that let the page read the answer.
   */
  cors (req: IncomingMessage, res: ServerResponse): boolean
}

/** Whether `origin` names the same scheme, host and port the request was sent to (its Host header). */
function sameOrigin (origin: string, hostHeader: string | undefined): boolean {
  if (!hostHeader) return false
  const scheme = origin.slice(0, origin.indexOf(':'))
  // Through URL both sides drop the scheme's default port and lower-case the name.
  return parseOrigin(`${scheme}://${hostHeader}`) === origin
}

const LOOPBACK_NAME = /^(localhost|[^:]+\.localhost|127(\.\d{1,3}){3}|\[::1\]|\[::ffff:127(\.\d{1,3}){3}\])(:\d+)?$/i

/** Whether the HOST setting binds to this machine only. */
export function isLoopbackHost (host: string): boolean {
  return LOOPBACK_NAME.test(host) || host === '::1'
}

export function createOriginPolicy (opts: OriginPolicyOptions): OriginPolicy {
  const listed = new Set(opts.allowed ?? [])
  const anyOrigin = listed.has('*') || (opts.allowed === undefined && opts.authOn)
  // An open-mode server on this machine with no origins configured is reached
  // by a loopback name. A page on another site can point its own name at
  // 127.0.0.1 (DNS rebinding) and so be "same origin": refuse other names.
  const loopbackNamesOnly = opts.allowed === undefined && !opts.authOn && isLoopbackHost(opts.host)

  const originAllowed = (origin: string, req: IncomingMessage): boolean => {
    if (anyOrigin) return true
    const normalized = parseOrigin(origin)
    if (normalized === null) return false // "null" (sandboxed frames, file:) and garbage
    return listed.has(normalized) || sameOrigin(normalized, req.headers.host)
  }

  const refusal = (req: IncomingMessage): Refusal | null => {
    if (loopbackNamesOnly && !LOOPBACK_NAME.test(req.headers.host ?? '')) {
      return { reason: 'host not allowed', detail: 'open mode on a loopback address answers only to localhost names; set ALLOWED_ORIGINS to serve other names' }
    }
    const origin = req.headers.origin
    if (origin === undefined || originAllowed(origin, req)) return null
    return { reason: 'origin not allowed', detail: `origin ${JSON.stringify(origin).slice(0, 100)} is not allowed; list it in ALLOWED_ORIGINS` }
  }

  return {
    refusal,
    cors (req, res) {
      const origin = req.headers.origin
      if (origin === undefined) return false
      res.setHeader('vary', 'Origin')
      res.setHeader('access-control-allow-origin', origin)
      if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return false
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'authorization, content-type',
        'access-control-max-age': '600',
      })
      res.end()
      return true
    },
  }
}
