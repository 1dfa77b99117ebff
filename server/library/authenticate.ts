/**
 * The `authenticate` hook (docs/server-library.md, "Hooks") in place of
 * JWTs: the host app decides who may open which document, from the request
 * itself (its session cookie, say). A refusal is a close code (4401, 4403)
 * on the upgrade and an HTTP status (401, 403) on the fallback transport
 * and the API; a hook that throws refuses, it never takes the server down,
 * and one that does not answer within AUTHENTICATE_TIMEOUT_MS refuses with
 * 4503 (HTTP 503), which stock clients retry.
 */
import type { IncomingMessage } from 'node:http'
import { AuthError, type Authenticator, type Grant, type Identity } from '../auth/token.js'
import type { Logger } from '../ops/log.js'
import { LIMIT } from '../ops/metrics.js'
import { CLOSE } from '../../common/close-codes.js'

export interface AuthenticateContext {
  /** The upgrade request (or the fallback transport's or the API's request), prefix already taken off its url. */
  request: IncomingMessage
  /** The document asked for (decoded, valid per docs/protocol.md). */
  documentName: string
  /** The `token` query parameter or the `Authorization: Bearer` value, if any. */
  token: string | undefined
}

/** Who connects, and what they may do with the document. */
export interface AuthenticatedUser {
  userId: string
  name?: string
  access: 'read' | 'write'
}

/** Return the user, or false (or null) to refuse with 4401 / 401; throw `Refusal` to choose 401 or 403 and the reason. */
export type AuthenticateHook = (context: AuthenticateContext) => AuthenticatedUser | false | null | undefined | Promise<AuthenticatedUser | false | null | undefined>

/** A refusal with its status: 401 (who are you?) closes with 4401, 403 (not this document) with 4403. */
export class Refusal extends Error {
  constructor (readonly status: 401 | 403, reason = status === 401 ? 'not signed in' : 'not allowed to open this document') {
    super(reason)
    this.name = 'Refusal'
  }
}

/** The close reason of a refusal the hook did not word itself. */
export const REFUSED = 'refused by authenticate'
/** Why a prefix stream is refused under a hook (it names no document to ask about). */
export const NAME_THE_DOCUMENTS = 'with an authenticate hook, name the documents (docs=…), or use the API key'
/** The close reason when the hook did not answer in time. */
export const TIMED_OUT = 'authenticate did not answer in time'

function isUser (answer: unknown): answer is AuthenticatedUser {
  if (typeof answer !== 'object' || answer === null) return false
  const { userId, name, access } = answer as Record<string, unknown>
  return typeof userId === 'string' && userId !== '' && (name === undefined || typeof name === 'string') && (access === 'read' || access === 'write')
}

export function hookAuthenticator (hook: AuthenticateHook, log: Logger, timeoutMs: number): Authenticator {
  return {
    open: false,
    async authenticate (token, documentName, request): Promise<Identity> {
      if (request === undefined) throw new AuthError(CLOSE.unauthorized, REFUSED)
      let answer: unknown
      try {
        answer = await answerWithin(hook({ request, documentName, token }), timeoutMs)
      } catch (err) {
        if (err === TIMED_OUT) {
          log.warn({ doc: documentName, timeoutMs }, 'authenticate hook did not answer in time: refused (the client retries)')
          throw new AuthError(CLOSE.unavailable, TIMED_OUT, LIMIT.authenticateTimeout)
        }
        if (err instanceof Refusal) throw new AuthError(err.status === 403 ? CLOSE.forbidden : CLOSE.unauthorized, err.message)
        log.warn({ err, doc: documentName }, 'authenticate hook threw: refused')
        throw new AuthError(CLOSE.unauthorized, REFUSED)
      }
      if (answer === false || answer === null || answer === undefined) throw new AuthError(CLOSE.unauthorized, REFUSED)
      if (!isUser(answer)) {
        log.error({ doc: documentName }, 'authenticate hook returned neither a user ({ userId, name?, access: "read" | "write" }) nor false: refused')
        throw new AuthError(CLOSE.unauthorized, REFUSED)
      }
      return answer.name === undefined
        ? { userId: answer.userId, access: answer.access }
        : { userId: answer.userId, name: answer.name, access: answer.access }
    },
    /**
     * The event stream: the hook decides on each document it names, as if
     * each were opened; a prefix names no document to ask about.
     */
    async identify (token, asked) {
      if (asked === undefined || asked.docs === null) throw new AuthError(CLOSE.unauthorized, NAME_THE_DOCUMENTS)
      const answers = await Promise.all([...new Set(asked.docs)].map(async (doc) => {
        // A name ending in "*" would be read as a pattern in the grant; only exact names are granted.
        if (doc.endsWith('*')) return null
        try {
          return { doc, identity: await this.authenticate(token, doc, asked.request) }
        } catch (err) {
          // Not this document (403): the stream asking for it is refused as a whole, with 403.
          if (err instanceof AuthError && err.code === CLOSE.forbidden) return null
          throw err
        }
      }))
      const granted = answers.filter((a) => a !== null)
      const first = granted[0]?.identity
      const grant: Grant = {
        userId: first?.userId ?? 'anonymous',
        allowed: granted.filter((a) => a.identity.access === 'write').map((a) => a.doc),
        readonly: granted.filter((a) => a.identity.access === 'read').map((a) => a.doc),
      }
      if (first?.name !== undefined) grant.name = first.name
      return grant
    },
  }
}

/** The hook's answer, or a rejection with TIMED_OUT after `ms` (the hook's own work goes on; its answer is dropped). */
async function answerWithin<T> (answer: T | Promise<T>, ms: number): Promise<T> {
  if (answer === null || typeof answer !== 'object' || typeof (answer as { then?: unknown }).then !== 'function') return answer
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(TIMED_OUT), ms) })
  try {
    return await Promise.race([answer, late])
  } finally {
    clearTimeout(timer)
  }
}
