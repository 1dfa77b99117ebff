/**
 * Client tokens: HS256 JWTs signed with AUTH_SECRET. Verification happens on
 * the upgrade request, before any document is touched.
 */
import { jwtVerify, errors } from 'jose'
import { z } from 'zod'
import { accessFor, type Access } from './access.js'
import { CLOSE } from '../../common/close-codes.js'

export interface Identity {
  userId: string
  name?: string
  access: Access
  /** Milliseconds since the epoch when the token stops being valid, if it does. */
  expiresAt?: number
}

const claimsSchema = z.object({
  sub: z.string().min(1),
  name: z.string().optional(),
  exp: z.number().optional(),
  allowedDocumentNames: z.array(z.string()).optional(),
  readonlyDocumentNames: z.array(z.string()).optional(),
})

/** Why a token was refused, mapped to a close code by the caller. */
export class AuthError extends Error {
  constructor (readonly code: typeof CLOSE.unauthorized | typeof CLOSE.forbidden, message: string) { super(message) }
}

export interface Authenticator {
  readonly open: boolean
  authenticate (token: string | undefined, docName: string): Promise<Identity>
}

export function createAuthenticator (secret: string | undefined): Authenticator {
  if (secret === undefined) {
    return {
      open: true,
      async authenticate () { return { userId: 'anonymous', access: 'write' } },
    }
  }
  const key = new TextEncoder().encode(secret)
  return {
    open: false,
    async authenticate (token, docName) {
      if (!token) throw new AuthError(CLOSE.unauthorized, 'missing token')
      let payload: unknown
      try {
        ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'] }))
      } catch (err) {
        if (err instanceof errors.JWTExpired) throw new AuthError(CLOSE.unauthorized, 'token expired')
        throw new AuthError(CLOSE.unauthorized, 'invalid token')
      }
      const claims = claimsSchema.safeParse(payload)
      if (!claims.success) throw new AuthError(CLOSE.unauthorized, 'invalid token claims')
      const { sub, name, exp, allowedDocumentNames, readonlyDocumentNames } = claims.data
      const access = accessFor(docName, allowedDocumentNames, readonlyDocumentNames)
      if (access === 'none') throw new AuthError(CLOSE.forbidden, 'token does not cover this document')
      return { userId: sub, name, access, expiresAt: exp === undefined ? undefined : exp * 1000 }
    },
  }
}
