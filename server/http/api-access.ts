/**
 * Who may use the content API (docs/api.md, "Authentication"):
 * `Authorization: Bearer <API_KEY>` may do everything; a client JWT (the
 * token the editor uses) may read the documents its lists cover and write
 * those its `allowedDocumentNames` covers. With neither API_KEY nor
 * AUTH_SECRET (open mode) everything is open.
 */
import type { IncomingMessage } from 'node:http'
import { CLOSE } from '../../common/close-codes.js'
import { AuthError, type Authenticator } from '../auth/token.js'
import { bearerMatches } from './bearer.js'

export type ApiAccess = 'write' | 'read'

export class ApiRefusal extends Error {
  constructor (readonly status: 401 | 403 | 503, message: string) { super(message) }
}

export interface ApiAccessDeps {
  auth: Authenticator
  apiKey: string | undefined
}

/** Any document name: what a token's validity (not its coverage) is checked with. */
const PROBE_NAME = 'x'

export class ApiAccessPolicy {
  constructor (private readonly deps: ApiAccessDeps) {}

  /** The caller's access to `name`; throws ApiRefusal (401 no or bad credentials, 403 not covered). */
  async to (req: IncomingMessage, name: string): Promise<ApiAccess> {
    const grant = this.grant(req)
    if (grant !== null) return grant
    return this.viaToken(bearerOf(req)!, name, req)
  }

  /** For a listing: a filter on names, after checking the credentials once. */
  async filter (req: IncomingMessage): Promise<(name: string) => Promise<boolean>> {
    if (this.grant(req) !== null) return async () => true
    const token = bearerOf(req)!
    try {
      await this.viaToken(token, PROBE_NAME, req)
    } catch (err) {
      if (!(err instanceof ApiRefusal && err.status === 403)) throw err
    }
    return async (name) => this.viaToken(token, name, req).then(() => true, () => false)
  }

  /** Access that needs no token: the API key, or open mode. Null: a token decides (throws when there is none to use). */
  private grant (req: IncomingMessage): ApiAccess | null {
    const { apiKey, auth } = this.deps
    if (apiKey !== undefined && bearerMatches(req, apiKey)) return 'write'
    if (auth.open) {
      if (apiKey === undefined) return 'write'
      throw new ApiRefusal(401, 'missing or wrong API key (Authorization: Bearer <API_KEY>)')
    }
    if (bearerOf(req) === undefined) throw new ApiRefusal(401, 'missing credentials: Authorization: Bearer <API_KEY or token>')
    return null
  }

  private async viaToken (token: string, name: string, req: IncomingMessage): Promise<ApiAccess> {
    try {
      return (await this.deps.auth.authenticate(token, name, req)).access as ApiAccess
    } catch (err) {
      if (err instanceof AuthError) {
        if (err.code === CLOSE.forbidden) throw new ApiRefusal(403, 'token does not cover this document')
        if (err.code === CLOSE.unavailable) throw new ApiRefusal(503, err.message)
        throw new ApiRefusal(401, `wrong API key or ${err.message}`)
      }
      throw err
    }
  }
}

function bearerOf (req: IncomingMessage): string | undefined {
  const header = req.headers.authorization ?? ''
  const token = header.startsWith('Bearer ') ? header.slice(7).trim() : ''
  return token === '' ? undefined : token
}

/** Who called (for version history, which names the user): their access to one document, and their user. */
export interface ApiCaller {
  access: ApiAccess
  /** The token's user; null for the API key and in open mode. */
  user: { id: string, name?: string } | null
}

/** The caller of a request about `docName`, or why it is refused (401/403; 503: the authenticate hook did not answer in time). */
export async function apiCaller (req: IncomingMessage, docName: string, deps: ApiAccessDeps): Promise<ApiCaller | { status: 401 | 403 | 503, error: string }> {
  const policy = new ApiAccessPolicy(deps)
  let access: ApiAccess
  try {
    access = await policy.to(req, docName)
  } catch (err) {
    if (err instanceof ApiRefusal) return { status: err.status, error: err.message }
    throw err
  }
  const token = bearerOf(req)
  if (token === undefined || (deps.apiKey !== undefined && bearerMatches(req, deps.apiKey)) || deps.auth.open) return { access, user: null }
  const identity = await deps.auth.authenticate(token, docName, req)
  return { access, user: identity.name === undefined ? { id: identity.userId } : { id: identity.userId, name: identity.name } }
}
