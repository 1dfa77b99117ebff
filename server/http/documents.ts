/**
 * The content API (docs/api.md): documents as HTML, Markdown, ProseMirror
 * JSON, plain text or Yjs, on the editor's own schema.
 *
 *   GET    /api/documents?prefix=&cursor=&limit=   list
 *   POST   /api/documents                          create {name, content, format}; 409 if it exists
 *   GET    /api/documents/<name>?format=           read (or by Accept); HEAD too; 404 if never created
 *   PUT    /api/documents/<name>                   replace the content (Content-Type says the format)
 *   PATCH  /api/documents/<name>?position=end      add content at the end (or start)
 *   DELETE /api/documents/<name>                   delete everywhere; live clients get 4404
 *
 * Writes go through the document (live editors see them at once, as a
 * change, never a reset) and answer once durable. The two Yjs routes of
 * api.ts (`…/state`, `…/updates`) stay there.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createHash } from 'node:crypto'
import * as Y from 'yjs'
import { isValidDocName } from '../../common/doc-name.js'
import { CLOSE, CLOSE_REASONS } from '../../common/close-codes.js'
import { ProtocolError } from '../../common/messages.js'
import type { DocStore } from '../backend/store.js'
import type { DocumentRegistry } from '../document/registry.js'
import type { SharedDocument } from '../document/document.js'
import { LIMIT, type Metrics } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'
import { ContentError, contentToUpdate, renderContent, type ContentFormat, type WriteMode } from '../content/formats.js'
import { ContentParser, ParseTimeout } from '../content/parser.js'
import { ApiAccessPolicy, ApiRefusal } from './api-access.js'
import type { Authenticator } from '../auth/token.js'
import { NegotiationError, bodyFormat, queryFormat, readFormat } from './negotiate.js'
import { readBody } from './body.js'
import { NOTHING_ACTIVE } from './headers.js'

export interface DocumentsDeps {
  registry: DocumentRegistry
  store: DocStore
  auth: Authenticator
  apiKey: string | undefined
  maxBodyBytes: number
  listMax: number
  parser: ContentParser
  /** Version history (docs/history.md): a PUT keeps the content it replaces as a version first. */
  history?: { snapshotBefore (doc: SharedDocument, reason: 'before-put'): Promise<unknown> }
  /** Webhooks (docs/webhooks.md): told of documents created and deleted here. */
  hooks?: { emit (event: { type: 'document.created' | 'document.deleted', doc: string }): Promise<void> }
  metrics: Metrics
  log: Logger
}

/** Entries in a listing page unless `limit` says otherwise. */
export const DEFAULT_LIST_LIMIT = 100

/** The old binary routes (api.ts): `GET …/state`, `POST …/updates`. Names may be reached past them with %2F. */
const YJS_ROUTE = /^\/api\/documents\/.+\/(state|updates)$/

/** A request refused with an HTTP status and a one-line reason. */
class Refusal extends Error {
  constructor (readonly status: number, message: string) { super(message) }
}

export function createDocumentsHandler (deps: DocumentsDeps) {
  const access = new ApiAccessPolicy({ auth: deps.auth, apiKey: deps.apiKey })

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = req.method ?? 'GET'
    if (url.pathname === '/api/documents' || url.pathname === '/api/documents/') {
      if (method === 'GET' || method === 'HEAD') return list(req, res, url)
      if (method === 'POST') return create(req, res)
      throw notAllowed(res, 'GET, HEAD, POST')
    }
    const name = nameOf(url.pathname.slice('/api/documents/'.length))
    switch (method) {
      case 'GET':
      case 'HEAD': return read(req, res, url, name)
      case 'PUT': return write(req, res, url, name, 'replace')
      case 'PATCH': return write(req, res, url, name, positionOf(url))
      case 'DELETE': return remove(req, res, name)
      default: throw notAllowed(res, 'GET, HEAD, PUT, PATCH, DELETE')
    }
  }

  const read = async (req: IncomingMessage, res: ServerResponse, url: URL, name: string): Promise<void> => {
    await access.to(req, name)
    const format = readFormat(url.searchParams.get('format'), req.headers.accept)
    await mustExist(name)
    const { body, contentType } = await withDocument(name, async (doc) => {
      // What is shown is durable: nothing the API answers can be lost afterwards.
      await doc.readState()
      return renderContent(doc.ydoc, format)
    })
    const bytes = typeof body === 'string' ? Buffer.from(body) : body
    res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length, vary: 'accept' })
    res.end(req.method === 'HEAD' ? undefined : bytes)
  }

  const write = async (req: IncomingMessage, res: ServerResponse, url: URL, name: string, mode: WriteMode): Promise<void> => {
    await mustWrite(req, name)
    const format = bodyFormat(url.searchParams.get('format'), req.headers['content-type'])
    const body = await body_(req)
    await mustExist(name)
    const content = await parsed(body, format)
    await withDocument(name, async (doc) => {
      const update = contentToUpdate(doc.ydoc, content.value, content.format, mode)
      if (isEmptyUpdate(update)) return
      if (mode === 'replace') await deps.history?.snapshotBefore(doc, 'before-put')
      await apply(doc, update)
    })
    json(res, 200, { ok: true })
  }

  const create = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await body_(req)
    const { name, content, format } = creation(body)
    await mustWrite(req, name)
    if (await stored(deps.store.exists(name))) throw new Refusal(409, 'document exists')
    const input = content === undefined ? { value: EMPTY_DOCUMENT, format: 'json' as const } : await parsed(content, format)
    const key = typeof input.value === 'string' ? input.value : Buffer.from(input.value).toString('base64')
    // Same name and content, same Yjs items: creations racing on two instances make one copy.
    const update = contentToUpdate(new Y.Doc(), input.value, input.format, 'replace', { clientId: creationClientId(name, key) })
    if (!await stored(deps.store.create(name, update))) throw new Refusal(409, 'document exists')
    // Editors already on the (empty) document here see it at once; other instances hear it from the store.
    await withDocument(name, (doc) => apply(doc, update))
    res.setHeader('location', `/api/documents/${encodeURIComponent(name)}`)
    void deps.hooks?.emit({ type: 'document.created', doc: name })
    json(res, 201, { name, created: true })
  }

  const remove = async (req: IncomingMessage, res: ServerResponse, name: string): Promise<void> => {
    await mustWrite(req, name)
    await mustExist(name)
    // Here first (its clients closed, what it received stored), so that nothing lands after the deletion.
    await deps.registry.evict(name, CLOSE.gone, CLOSE_REASONS[CLOSE.gone])
    await stored(deps.store.delete(name))
    // Someone who opened it here meanwhile loaded what was about to go: closed too.
    await deps.registry.evict(name, CLOSE.gone, CLOSE_REASONS[CLOSE.gone])
    void deps.hooks?.emit({ type: 'document.deleted', doc: name })
    res.writeHead(204)
    res.end()
  }

  const list = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const covers = await access.filter(req)
    const prefix = url.searchParams.get('prefix') ?? ''
    const limitParam = url.searchParams.get('limit')
    const limit = limitParam === null ? Math.min(DEFAULT_LIST_LIMIT, deps.listMax) : Number(limitParam)
    if (!Number.isSafeInteger(limit) || limit < 1) throw new Refusal(400, 'limit must be a positive integer')
    if (limit > deps.listMax) {
      deps.metrics.refusals.inc({ limit: LIMIT.apiListPage })
      throw new Refusal(400, `limit over ${deps.listMax} (API_LIST_MAX)`)
    }
    const cursorParam = url.searchParams.get('cursor')
    const cursor = cursorParam === null || cursorParam === '' ? null : Buffer.from(cursorParam, 'base64url').toString('utf8')
    const page = await stored(deps.store.list(prefix, cursor, limit))
    const loaded = new Map(deps.registry.documents().map((d) => [d.name, d]))
    const documents = []
    for (const entry of page.documents) {
      if (!await covers(entry.name)) continue
      const writers = loaded.get(entry.name)?.writers ?? []
      documents.push({
        name: entry.name,
        bytes: entry.bytes,
        updatedAt: entry.updatedAt === null ? null : new Date(entry.updatedAt).toISOString(),
        editing: { connections: writers.length, users: distinctUsers(writers) },
      })
    }
    json(res, 200, { documents, cursor: page.cursor === null ? null : Buffer.from(page.cursor, 'utf8').toString('base64url') })
  }

  const mustWrite = async (req: IncomingMessage, name: string): Promise<void> => {
    if (await access.to(req, name) !== 'write') throw new Refusal(403, 'token grants reading only')
  }

  const mustExist = async (name: string): Promise<void> => {
    if (!await stored(deps.store.exists(name))) throw new Refusal(404, 'no such document (create it with POST /api/documents)')
  }

  const body_ = async (req: IncomingMessage): Promise<Uint8Array> => {
    const body = await readBody(req, deps.maxBodyBytes)
    if (body === null) {
      deps.metrics.refusals.inc({ limit: LIMIT.apiBodyBytes })
      throw new Refusal(413, `body over ${deps.maxBodyBytes} bytes (MAX_MESSAGE_BYTES)`)
    }
    return body
  }

  /** Text formats go through the parser (with its deadline) to ProseMirror JSON; a Yjs update stays as it is. */
  const parsed = async (body: string | Uint8Array, format: ContentFormat): Promise<{ value: string | Uint8Array, format: ContentFormat }> => {
    if (format === 'yjs') return { value: body, format }
    try {
      return { value: await deps.parser.parse(body, format), format: 'json' }
    } catch (err) {
      if (err instanceof ParseTimeout) {
        deps.metrics.refusals.inc({ limit: LIMIT.contentParseTime })
        throw new Refusal(413, `${err.message} (CONTENT_PARSE_TIMEOUT_MS)`)
      }
      throw err
    }
  }

  /** A store call; its failure is the store's, not the request's: 503, logged. */
  const stored = async <T>(call: Promise<T>): Promise<T> => {
    try {
      return await call
    } catch (err) {
      deps.log.warn({ err }, 'API: the store failed')
      throw new Refusal(503, 'store unavailable')
    }
  }

  const withDocument = async <T>(name: string, fn: (doc: SharedDocument) => Promise<T>): Promise<T> => {
    let doc: SharedDocument
    try {
      doc = await deps.registry.acquire(name)
    } catch (err) {
      deps.log.error({ err, doc: name }, 'API: document failed to load')
      throw new Refusal(503, 'document could not be loaded')
    }
    try {
      try {
        doc.warmUp()
      } catch {
        throw new Refusal(503, 'document could not be loaded')
      }
      return await fn(doc)
    } finally {
      deps.registry.release(doc)
    }
  }

  return async function handleDocuments (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    if (pathname !== '/api/documents' && !pathname.startsWith('/api/documents/')) return false
    if (YJS_ROUTE.test(pathname)) return false
    const url = new URL(req.url ?? '/', 'http://localhost')
    // A document read as HTML is shown, never run, should a browser open it.
    res.setHeader('content-security-policy', NOTHING_ACTIVE)
    try {
      await route(req, res, url)
    } catch (err) {
      const known = err instanceof Refusal || err instanceof ApiRefusal || err instanceof NegotiationError
      if (known || err instanceof ContentError) {
        const status = known ? err.status : 400
        if (status === 401) res.setHeader('www-authenticate', 'Bearer')
        json(res, status, { error: err.message })
      } else {
        throw err
      }
    }
    return true
  }
}

async function apply (doc: SharedDocument, update: Uint8Array): Promise<void> {
  try {
    await doc.applyUpdate(update)
  } catch (err) {
    if (err instanceof ProtocolError) throw new Refusal(err.code === CLOSE.tooLarge ? 413 : 400, err.code === CLOSE.tooLarge ? 'change too costly to apply' : 'body is not a valid Yjs update')
    throw err
  }
}

const EMPTY_DOCUMENT = JSON.stringify({ type: 'doc', content: [] })

/** A fixed Yjs client id for a creation: the first 32 bits of a hash of the name and the content. */
export function creationClientId (name: string, content: string): number {
  return createHash('sha256').update(name).update('\u0000').update(content).digest().readUInt32BE(0)
}

/** `{name, content, format}` of a creation; content is a string (Yjs: base64) or, for json, the document object. */
function creation (body: Uint8Array): { name: string, content: string | Uint8Array | undefined, format: ContentFormat } {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    throw new Refusal(400, 'body must be JSON: {"name": ..., "content": ..., "format": ...}')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Refusal(400, 'body must be a JSON object: {"name": ..., "content": ..., "format": ...}')
  const { name, content, format: formatValue } = value as Record<string, unknown>
  if (typeof name !== 'string' || !isValidDocName(name)) throw new Refusal(400, 'invalid document name')
  if (formatValue !== undefined && typeof formatValue !== 'string') throw new Refusal(400, 'format must be a string')
  const format = queryFormat(formatValue ?? null) ?? (typeof content === 'string' ? undefined : 'json')
  if (format === undefined) throw new Refusal(400, `format is required with string content: one of json, html, markdown, text, yjs`)
  if (content === undefined || content === null) return { name, content: undefined, format }
  if (format === 'yjs') {
    if (typeof content !== 'string') throw new Refusal(400, 'content of format yjs is the update in base64')
    return { name, content: Buffer.from(content, 'base64'), format }
  }
  if (typeof content === 'string') return { name, content, format }
  if (format === 'json' && typeof content === 'object') return { name, content: JSON.stringify(content), format }
  throw new Refusal(400, 'content must be a string (or, for format json, a ProseMirror document)')
}

function nameOf (encoded: string): string {
  let name: string
  try {
    name = decodeURIComponent(encoded)
  } catch {
    throw new Refusal(400, 'invalid document name')
  }
  if (!isValidDocName(name)) throw new Refusal(400, 'invalid document name')
  return name
}

function positionOf (url: URL): WriteMode {
  const position = url.searchParams.get('position') ?? 'end'
  if (position === 'end') return 'append'
  if (position === 'start') return 'prepend'
  throw new Refusal(400, `position must be start or end, not "${position.slice(0, 20)}"`)
}

function notAllowed (res: ServerResponse, allow: string): Refusal {
  res.setHeader('allow', allow)
  return new Refusal(405, 'method not allowed')
}

function isEmptyUpdate (update: Uint8Array): boolean {
  const { structs, ds } = Y.decodeUpdate(update)
  return structs.length === 0 && ds.clients.size === 0
}

function distinctUsers (writers: Array<{ id: string, name?: string } | null>): Array<{ id: string, name?: string }> {
  const byId = new Map<string, { id: string, name?: string }>()
  for (const w of writers) if (w !== null) byId.set(w.id, { id: w.id, name: w.name })
  return [...byId.values()]
}

function json (res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body) + '\n')
}
