/**
 * The document HTTP API, for servers (seeding, export, writes from back ends):
 *
 *   GET  /api/documents/<name>/state    the document as one Yjs update (binary)
 *   POST /api/documents/<name>/updates  apply a binary Yjs update; 200 once durable
 *
 * `<name>` is percent-encoded like the WebSocket path. Requires
 * `Authorization: Bearer <API_KEY>`; with no API_KEY it is open only in open
 * mode (no AUTH_SECRET), and refused otherwise.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isValidDocName } from '../../common/doc-name.js'
import { ProtocolError } from '../../common/messages.js'
import { CLOSE } from '../../common/close-codes.js'
import type { DocumentRegistry } from '../document/registry.js'
import { bearerMatches } from './bearer.js'
import { readBody } from './body.js'
import type { Logger } from '../ops/log.js'

export interface ApiDeps {
  registry: DocumentRegistry
  apiKey: string | undefined
  openMode: boolean
  maxBodyBytes: number
  log: Logger
}

const ROUTE = /^\/api\/documents\/(.+)\/(state|updates)$/

export function createApiHandler (deps: ApiDeps) {
  return async function handleApi (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    if (!pathname.startsWith('/api/')) return false
    if (!authorized(req, deps)) return json(res, 401, { error: 'missing or wrong API key (Authorization: Bearer <API_KEY>)' })
    const match = ROUTE.exec(pathname)
    if (!match) return json(res, 404, { error: 'no such API route' })
    let name: string
    try {
      name = decodeURIComponent(match[1])
    } catch {
      return json(res, 400, { error: 'invalid document name' })
    }
    if (!isValidDocName(name)) return json(res, 400, { error: 'invalid document name' })
    const action = match[2]
    if (action === 'state' && req.method === 'GET') return withDoc(deps, name, res, async (doc) => {
      // Answered once what it holds is durable: nothing the API shows can be lost afterwards.
      const state = await doc.readState()
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': state.length })
      res.end(state)
    })
    if (action === 'updates' && req.method === 'POST') {
      const body = await readBody(req, deps.maxBodyBytes)
      if (body === null) return json(res, 413, { error: `body over ${deps.maxBodyBytes} bytes` })
      // The smallest Yjs update (nothing in it) is two bytes; an empty body is a mistake.
      if (body.length === 0) return json(res, 400, { error: 'body is not a valid Yjs update' })
      return withDoc(deps, name, res, async (doc) => {
        let durable: Promise<void>
        try {
          durable = doc.applyUpdate(body)
        } catch (err) {
          if (err instanceof ProtocolError) return void json(res, 400, { error: err.code === CLOSE.tooLarge ? 'update too costly to apply' : 'body is not a valid Yjs update' })
          throw err
        }
        await durable
        json(res, 200, { ok: true })
      })
    }
    res.setHeader('allow', action === 'state' ? 'GET' : 'POST')
    return json(res, 405, { error: 'method not allowed' })
  }
}

async function withDoc (deps: ApiDeps, name: string, res: ServerResponse, fn: (doc: Awaited<ReturnType<DocumentRegistry['acquire']>>) => Promise<void>): Promise<boolean> {
  let doc
  try {
    doc = await deps.registry.acquire(name)
  } catch (err) {
    deps.log.error({ err, doc: name }, 'API: document failed to load')
    return json(res, 503, { error: 'document could not be loaded' })
  }
  try {
    // Both routes need the Y.Doc (a cold document builds it now; a damaged snapshot fails here).
    try {
      doc.warmUp()
    } catch {
      return json(res, 503, { error: 'document could not be loaded' })
    }
    await fn(doc)
  } finally {
    deps.registry.release(doc)
  }
  return true
}

function authorized (req: IncomingMessage, deps: ApiDeps): boolean {
  if (deps.apiKey === undefined) return deps.openMode
  return bearerMatches(req, deps.apiKey)
}

function json (res: ServerResponse, status: number, body: unknown): true {
  if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body) + '\n')
  return true
}
