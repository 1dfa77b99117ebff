/**
 * The webhooks' admin API (docs/webhooks.md, "Admin API"), for the
 * operator's back end, with `Authorization: Bearer <API_KEY>` only (never
 * open, whatever the mode):
 *
 *   GET    /api/admin/webhooks        every endpoint, secrets left out
 *   POST   /api/admin/webhooks        add one: {url, events, secret?, includeContent?}
 *   DELETE /api/admin/webhooks/<id>   remove one added here (not one of WEBHOOKS)
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { firstIssue, webhookEndpointSchema } from '../config.js'
import { bearerMatches } from '../http/bearer.js'
import { readBody } from '../http/body.js'
import type { Logger } from '../ops/log.js'
import { refusalOfHost } from './address-policy.js'
import { MAX_ADDED_ENDPOINTS, publicView, type Endpoint, type Endpoints } from './endpoints.js'

export const ADMIN_PATH = '/api/admin/webhooks'
const ROUTE = /^\/api\/admin\/webhooks(?:\/([^/]+))?\/?$/
/** Largest request body: one endpoint's description. */
const MAX_BODY_BYTES = 64 * 1024

/** What the admin API takes: an endpoint whose secret may be left out (one is generated and returned once). */
const addSchema = webhookEndpointSchema.extend({ secret: webhookEndpointSchema.shape.secret.optional() })

export interface AdminDeps {
  log: Logger
  apiKey: string | undefined
  /** Null when webhooks are off (no API_KEY and no WEBHOOKS). */
  endpoints: Endpoints | null
  allowPrivate: boolean
}

export function createAdminApi (deps: AdminDeps) {
  return async function handleAdmin (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    if (pathname !== ADMIN_PATH && !pathname.startsWith(ADMIN_PATH + '/')) return false
    if (deps.apiKey === undefined || deps.endpoints === null) return reply(res, 403, { error: 'the webhooks admin API needs API_KEY to be set' })
    if (!bearerMatches(req, deps.apiKey)) return reply(res, 401, { error: 'missing or wrong API key (Authorization: Bearer <API_KEY>)' })
    const match = ROUTE.exec(pathname)
    if (!match) return reply(res, 404, { error: 'no such API route' })
    const endpoints = deps.endpoints
    const id = match[1]
    try {
      if (id === undefined && req.method === 'GET') {
        await endpoints.refresh(true)
        return reply(res, 200, { webhooks: endpoints.all().map(publicView) })
      }
      if (id === undefined && req.method === 'POST') return await add(req, res, endpoints, deps.allowPrivate)
      if (id !== undefined && req.method === 'DELETE') return await remove(res, endpoints, id)
    } catch (err) {
      // The backend (Redis) did not answer: nothing was changed, or the list could not be read.
      deps.log.warn({ err }, 'webhooks admin API: the store did not answer')
      return reply(res, 503, { error: 'the store holding the webhooks did not answer; try again' })
    }
    res.setHeader('allow', id === undefined ? 'GET, POST' : 'DELETE')
    return reply(res, 405, { error: 'method not allowed' })
  }
}

async function add (req: IncomingMessage, res: ServerResponse, endpoints: Endpoints, allowPrivate: boolean): Promise<true> {
  const body = await readBody(req, MAX_BODY_BYTES)
  if (body === null) return reply(res, 413, { error: `body over ${MAX_BODY_BYTES} bytes` })
  let json: unknown
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'))
  } catch {
    return reply(res, 400, { error: 'body is not JSON' })
  }
  const parsed = addSchema.safeParse(json)
  if (!parsed.success) return reply(res, 400, { error: firstIssue(parsed.error) })
  const input = parsed.data
  if (!allowPrivate) {
    const refusal = await refusalOfHost(input.url)
    if (refusal !== null) return reply(res, 400, { error: `url: ${refusal}` })
  }
  await endpoints.refresh(true)
  const all = endpoints.all()
  if (all.some((e) => e.url === input.url)) return reply(res, 409, { error: 'an endpoint with this url exists already' })
  if (all.filter((e) => e.source === 'api').length >= MAX_ADDED_ENDPOINTS) return reply(res, 409, { error: `at most ${MAX_ADDED_ENDPOINTS} endpoints can be added` })
  const secret = input.secret ?? `whsec_${randomBytes(24).toString('hex')}`
  const endpoint: Endpoint = {
    id: `wh_${randomBytes(8).toString('hex')}`,
    url: input.url,
    events: input.events,
    secret,
    ...(input.includeContent === undefined ? {} : { includeContent: input.includeContent }),
    source: 'api',
    createdAt: new Date().toISOString(),
  }
  await endpoints.store.put(endpoint)
  await endpoints.refresh()
  // The secret goes back only when it was generated here: the caller has no other way to learn it.
  return reply(res, 201, { webhook: publicView(endpoint), ...(input.secret === undefined ? { secret } : {}) })
}

async function remove (res: ServerResponse, endpoints: Endpoints, id: string): Promise<true> {
  if (endpoints.all().some((e) => e.id === id && e.source === 'env')) {
    return reply(res, 409, { error: 'this endpoint is configured by WEBHOOKS: change the environment to remove it' })
  }
  const removed = await endpoints.store.remove(id)
  await endpoints.refresh()
  if (!removed) return reply(res, 404, { error: 'no such webhook' })
  res.writeHead(204)
  res.end()
  return true
}

function reply (res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body) + '\n')
  return true
}
