/**
 * The version history routes of the HTTP API (docs/history.md, "API"):
 *
 *   GET  /api/documents/<name>/versions                  list, newest first (?limit, ?before)
 *   POST /api/documents/<name>/versions                  take one now ({"label"}): 201
 *   GET  /api/documents/<name>/versions/<id>             its content (?format=json|html|markdown|text|yjs)
 *   GET  /api/documents/<name>/versions/<a>/diff/<b>     what changed (?format=json|text|html; a or b may be "current")
 *   POST /api/documents/<name>/versions/<id>/restore     make the document read as it again (a forward change)
 *
 * Callers: the API key, a client token covering the document (read-only
 * tokens read), anyone in open mode (server/http/api-access.ts). Reading
 * history does not load the document; taking, restoring and diffing against
 * "current" do.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isValidDocName } from '../../common/doc-name.js'
import type { DocumentRegistry } from '../document/registry.js'
import type { SharedDocument } from '../document/document.js'
import { ContentError, type ContentFormat } from '../content/formats.js'
import { apiCaller, type ApiAccessDeps, type ApiCaller } from '../http/api-access.js'
import { NOTHING_ACTIVE } from '../http/headers.js'
import { readBody } from '../http/body.js'
import { isVersionId } from '../backend/versions.js'
import { LIMIT, type Metrics } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'
import { CURRENT, VersionNotFound, type History } from './history.js'
import { DIFF_FORMATS, type DiffFormat } from './diff.js'

/** Versions one list request returns at most (and by default). */
export const MAX_PAGE = 100
/** A version's label, in characters. */
export const MAX_LABEL_CHARS = 200
/** The body of POST .../versions (a label): anything longer is refused. */
const MAX_BODY_BYTES = 16 * 1024
const CONTENT_FORMATS: readonly ContentFormat[] = ['json', 'html', 'markdown', 'text', 'yjs']

export interface VersionRoutesDeps {
  registry: DocumentRegistry
  history: History
  access: ApiAccessDeps
  metrics: Metrics
  log: Logger
}

type Action =
  | { kind: 'list' }
  | { kind: 'version', id: string }
  | { kind: 'restore', id: string }
  | { kind: 'diff', from: string, to: string }

const ROUTE = /^\/api\/documents\/(.+)\/versions(\/.*)?$/

/** The action a path's tail after `/versions` names, or null (then the path is not ours). */
function actionOf (tail: string): Action | null {
  const parts = tail.split('/').slice(1)
  const ref = (s: string): boolean => s === CURRENT || isVersionId(s)
  if (parts.length === 0) return { kind: 'list' }
  if (parts.length === 1 && isVersionId(parts[0])) return { kind: 'version', id: parts[0] }
  if (parts.length === 2 && parts[1] === 'restore' && isVersionId(parts[0])) return { kind: 'restore', id: parts[0] }
  if (parts.length === 3 && parts[1] === 'diff' && ref(parts[0]) && ref(parts[2])) return { kind: 'diff', from: parts[0], to: parts[2] }
  return null
}

export function createVersionRoutes (deps: VersionRoutesDeps) {
  return async function handleVersions (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    const match = ROUTE.exec(pathname)
    const action = match ? actionOf(match[2] ?? '') : null
    if (match === null || action === null) return false
    let name: string
    try {
      name = decodeURIComponent(match[1])
    } catch {
      return send(res, 400, { error: 'invalid document name' })
    }
    if (!isValidDocName(name)) return send(res, 400, { error: 'invalid document name' })
    const writes = action.kind === 'restore' || (action.kind === 'list' && req.method === 'POST')
    const allowed = action.kind === 'restore' ? 'POST' : action.kind === 'list' ? 'GET, POST' : 'GET'
    if (!allowed.split(', ').includes(req.method ?? '')) {
      res.setHeader('allow', allowed)
      return send(res, 405, { error: 'method not allowed' })
    }
    const caller = await apiCaller(req, name, deps.access)
    if ('status' in caller) return send(res, caller.status, { error: caller.error })
    if (writes && caller.access !== 'write') return send(res, 403, { error: 'read-only access: history can be read, not changed' })
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams
    try {
      switch (action.kind) {
        case 'list': return await (req.method === 'POST' ? create(deps, req, res, name, caller) : list(deps, res, name, query))
        case 'version': return await content(deps, res, name, action.id, query)
        case 'diff': return await diff(deps, res, name, action.from, action.to, query)
        case 'restore': return await restore(deps, res, name, action.id, caller)
      }
    } catch (err) {
      if (err instanceof VersionNotFound) return send(res, 404, { error: `no version ${err.message} of this document` })
      if (err instanceof DocumentUnavailable) return send(res, 503, { error: 'document could not be loaded' })
      throw err
    }
  }
}

async function list (deps: VersionRoutesDeps, res: ServerResponse, name: string, query: URLSearchParams): Promise<boolean> {
  const limitText = query.get('limit') ?? String(MAX_PAGE)
  const limit = /^\d+$/.test(limitText) ? Number(limitText) : NaN
  if (!(limit >= 1 && limit <= MAX_PAGE)) return send(res, 400, { error: `limit must be 1 to ${MAX_PAGE}` })
  const before = query.get('before') ?? undefined
  if (before !== undefined && !isVersionId(before)) return send(res, 400, { error: 'before must be a version id' })
  // One more than asked: whether there is a next page.
  const page = await deps.history.list(name, { before, limit: limit + 1 })
  const versions = page.slice(0, limit)
  return send(res, 200, { versions, next: page.length > limit ? versions[versions.length - 1].id : null })
}

async function create (deps: VersionRoutesDeps, req: IncomingMessage, res: ServerResponse, name: string, caller: ApiCaller): Promise<boolean> {
  const body = await readBody(req, MAX_BODY_BYTES)
  if (body === null) return send(res, 413, { error: `body over ${MAX_BODY_BYTES} bytes` })
  let label: string | undefined
  try {
    const parsed: unknown = body.length === 0 ? {} : JSON.parse(Buffer.from(body).toString('utf8'))
    const given = (parsed as { label?: unknown } | null)?.label
    if (typeof parsed !== 'object' || parsed === null || (given !== undefined && typeof given !== 'string')) throw new SyntaxError()
    label = typeof given === 'string' && given.trim() !== '' ? given.trim() : undefined
  } catch {
    return send(res, 400, { error: 'body must be JSON: {"label": "..."} (label optional)' })
  }
  if (label !== undefined && label.length > MAX_LABEL_CHARS) return send(res, 400, { error: `label over ${MAX_LABEL_CHARS} characters` })
  const kept = await deps.history.list(name, { limit: deps.history.maxVersions })
  if (kept.length >= deps.history.maxVersions) {
    deps.metrics.refusals.inc({ limit: LIMIT.historyVersions })
    return send(res, 429, { error: `this document keeps ${deps.history.maxVersions} versions already (HISTORY_MAX_VERSIONS)` })
  }
  return withDocument(deps, name, async (doc) => {
    const taken = await deps.history.take(doc, 'manual', { label, by: caller.user ?? undefined, always: true })
    if (taken.version === null) return send(res, 409, { error: 'the document is empty: nothing to keep' })
    return send(res, 201, { version: taken.version })
  })
}

async function content (deps: VersionRoutesDeps, res: ServerResponse, name: string, id: string, query: URLSearchParams): Promise<boolean> {
  const format = query.get('format') ?? 'json'
  if (!(CONTENT_FORMATS as readonly string[]).includes(format)) return send(res, 400, { error: `format must be one of ${CONTENT_FORMATS.join(', ')}` })
  let rendered
  try {
    rendered = await deps.history.render(name, id, format as ContentFormat)
  } catch (err) {
    if (err instanceof ContentError) return send(res, 400, { error: err.message })
    throw err
  }
  const body = typeof rendered.body === 'string' ? Buffer.from(rendered.body, 'utf8') : rendered.body
  res.writeHead(200, {
    'content-type': rendered.contentType,
    'content-length': body.length,
    'content-security-policy': NOTHING_ACTIVE,
    'x-quire-version': rendered.info.id,
  })
  res.end(body)
  return true
}

async function diff (deps: VersionRoutesDeps, res: ServerResponse, name: string, from: string, to: string, query: URLSearchParams): Promise<boolean> {
  const format = query.get('format') ?? 'json'
  if (!(DIFF_FORMATS as readonly string[]).includes(format)) return send(res, 400, { error: `format must be one of ${DIFF_FORMATS.join(', ')}` })
  const usesCurrent = from === CURRENT || to === CURRENT
  const run = (doc: () => Promise<SharedDocument>): Promise<boolean> => deps.history.diff(name, from, to, format as DiffFormat, doc).then((rendered) => {
    res.writeHead(200, { 'content-type': rendered.contentType, 'content-security-policy': NOTHING_ACTIVE })
    res.end(rendered.body)
    return true
  })
  if (!usesCurrent) return run(() => Promise.reject(new Error('no current document in this diff')))
  return withDocument(deps, name, (doc) => run(async () => doc))
}

async function restore (deps: VersionRoutesDeps, res: ServerResponse, name: string, id: string, caller: ApiCaller): Promise<boolean> {
  return withDocument(deps, name, async (doc) => {
    const done = await deps.history.restore(doc, id, caller.user ?? undefined)
    return send(res, 200, done)
  })
}

class DocumentUnavailable extends Error {}

/** Hold the document (built) for `fn`. */
async function withDocument (deps: VersionRoutesDeps, name: string, fn: (doc: SharedDocument) => Promise<boolean>): Promise<boolean> {
  let doc: SharedDocument
  try {
    doc = await deps.registry.acquire(name)
  } catch (err) {
    deps.log.error({ err, doc: name }, 'history: document failed to load')
    throw new DocumentUnavailable()
  }
  try {
    try {
      doc.warmUp()
    } catch {
      throw new DocumentUnavailable()
    }
    return await fn(doc)
  } finally {
    deps.registry.release(doc)
  }
}

function send (res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json', 'content-security-policy': NOTHING_ACTIVE })
  res.end(JSON.stringify(body) + '\n')
  return true
}
