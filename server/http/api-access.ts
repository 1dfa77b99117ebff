/**
 * Who is calling a document route of the HTTP API, and what they may do
 * with that document: the API key may do anything; a client token (the
 * same JWT the sync endpoint takes) what its claims grant for the document
 * (read-only tokens read); in open mode, like the sync endpoint, anyone
 * anything. Answers 401 or 403 otherwise (docs/history.md, "Access").
 */
import type { IncomingMessage } from 'node:http'
import { AuthError, type Authenticator } from '../auth/token.js'
import { CLOSE } from '../../common/close-codes.js'
import { bearerMatches } from './bearer.js'

export interface ApiCaller {
  access: 'read' | 'write'
  /** The token's user; null for the API key and in open mode. */
  user: { id: string, name?: string } | null
}

export type ApiRefusal = { status: 401 | 403, error: string }

export interface ApiAccessDeps {
  apiKey: string | undefined
  auth: Authenticator
}

export async function apiCaller (req: IncomingMessage, docName: string, deps: ApiAccessDeps): Promise<ApiCaller | ApiRefusal> {
  if (deps.apiKey !== undefined && bearerMatches(req, deps.apiKey)) return { access: 'write', user: null }
  if (deps.auth.open) return { access: 'write', user: null }
  const header = req.headers.authorization ?? ''
  const token = header.startsWith('Bearer ') ? header.slice(7).trim() : ''
  if (token === '') return { status: 401, error: 'missing credentials (Authorization: Bearer <API_KEY or token>)' }
  try {
    const identity = await deps.auth.authenticate(token, docName)
    if (identity.access === 'none') return { status: 403, error: 'this token does not cover this document' }
    return { access: identity.access, user: identity.name === undefined ? { id: identity.userId } : { id: identity.userId, name: identity.name } }
  } catch (err) {
    if (err instanceof AuthError) return err.code === CLOSE.forbidden ? { status: 403, error: err.message } : { status: 401, error: err.message }
    throw err
  }
}
