/**
 * Client tokens (docs/auth.md): HS256 JWTs signed with AUTH_SECRET, and
 * tokens an identity provider signs with a key it publishes at
 * AUTH_JWKS_URL (RS*, PS*, ES*, EdDSA). Each token goes to the key source
 * its `alg` names; issuer, audience, clock skew and the claim mapping apply
 * to every token alike. Verification happens on the upgrade request, before
 * any document is touched.
 */
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose'
import type { IncomingMessage } from 'node:http'
import type { Registry } from 'prom-client'
import { accessFor, type Access } from './access.js'
import { ClaimError, mapClaims, type ClaimMapping } from './claims.js'
import { createJwksKeys, JwksUnavailable, type JwksKeys } from './jwks.js'
import { authEnabled, type Config } from '../config.js'
import type { Logger } from '../ops/log.js'
import { CLOSE, CLOSE_REASONS } from '../../common/close-codes.js'

export interface Identity {
  userId: string
  name?: string
  access: Access
  /** Milliseconds since the epoch when the token stops being accepted (its `exp` plus the clock skew), if it does. */
  expiresAt?: number
}

/** Why a token was refused, mapped to a close code by the caller. */
export class AuthError extends Error {
  /**
   * 4401 or 4403; 4503 when whoever decides could not answer in time (the
   * client retries). `limit`: the budget that refused, for
   * quire_limit_refusals_total.
   */
  constructor (readonly code: typeof CLOSE.unauthorized | typeof CLOSE.forbidden | typeof CLOSE.unavailable, message: string, readonly limit?: string) { super(message) }
}

/** Who a token names and which documents it covers, before any one document is asked about. */
export interface Grant {
  userId: string
  name?: string
  /** The token's document patterns (docs/auth.md): writing, reading. */
  allowed: readonly string[]
  readonly: readonly string[]
  expiresAt?: number
}

/** What a live event stream asks for (Authenticator.identify). */
export interface StreamRequest {
  docs: readonly string[] | null
  request: IncomingMessage
}

export interface Authenticator {
  readonly open: boolean
  /** `req`: the request asking (the upgrade, a fallback-transport or API request), for authenticators that read more than the token. */
  authenticate (token: string | undefined, docName: string, req?: IncomingMessage): Promise<Identity>
  /**
   * Verify a token without naming one document (the live event stream
   * filters many); throws AuthError. `asked`: the documents the stream
   * names (null: a prefix) and its request, for authenticators that decide
   * per document.
   */
  identify (token: string | undefined, asked?: StreamRequest): Promise<Grant>
}

/** The configuration an Authenticator reads. */
export type AuthConfig = Pick<Config,
  'AUTH_SECRET' | 'AUTH_JWKS_URL' | 'AUTH_ISSUER' | 'AUTH_AUDIENCE' | 'AUTH_CLOCK_SKEW_SECONDS' |
  'AUTH_CLAIM_USER_ID' | 'AUTH_CLAIM_NAME' | 'AUTH_CLAIM_ALLOWED' | 'AUTH_CLAIM_READONLY' |
  'AUTH_JWKS_TIMEOUT_MS' | 'AUTH_JWKS_COOLDOWN_MS' | 'AUTH_JWKS_REFRESH_MS'>

export interface AuthDeps {
  log: Logger
  /** Where the JWKS metrics are registered. */
  registry?: Registry
}

/** The one symmetric algorithm, for AUTH_SECRET. */
const SECRET_ALGORITHMS = ['HS256']
/** Public-key algorithms, for keys from AUTH_JWKS_URL (jose refuses RSA keys under 2048 bits). */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']

const unauthorized = (reason: string): AuthError => new AuthError(CLOSE.unauthorized, reason)

/** The close reason for a token jose (or the key source) rejected. */
function refusal (err: unknown): AuthError {
  if (err instanceof errors.JWTExpired) return unauthorized('token expired')
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return unauthorized('token not yet valid')
    if (err.claim === 'iss') return unauthorized('token issuer not accepted')
    if (err.claim === 'aud') return unauthorized('token audience not accepted')
    return unauthorized('invalid token claims')
  }
  if (err instanceof JwksUnavailable || err instanceof errors.JWKSTimeout) return unauthorized('signing keys unavailable')
  if (err instanceof errors.JWKSNoMatchingKey) return unauthorized('unknown signing key')
  return unauthorized('invalid token')
}

function algorithmOf (token: string): string | undefined {
  try {
    return decodeProtectedHeader(token).alg
  } catch {
    return undefined
  }
}

const OPEN: Authenticator = {
  open: true,
  async authenticate () { return { userId: 'anonymous', access: 'write' } },
  async identify () { return { userId: 'anonymous', allowed: ['*'], readonly: [] } },
}

export function createAuthenticator (config: AuthConfig, deps: AuthDeps): Authenticator {
  if (!authEnabled(config)) return OPEN
  const secret = config.AUTH_SECRET === undefined ? undefined : new TextEncoder().encode(config.AUTH_SECRET)
  let jwks: JwksKeys | undefined
  if (config.AUTH_JWKS_URL !== undefined) {
    jwks = createJwksKeys({
      url: config.AUTH_JWKS_URL,
      timeoutMs: config.AUTH_JWKS_TIMEOUT_MS,
      cooldownMs: config.AUTH_JWKS_COOLDOWN_MS,
      refreshMs: config.AUTH_JWKS_REFRESH_MS,
      log: deps.log,
      registry: deps.registry,
    })
    const { protocol, hostname } = new URL(config.AUTH_JWKS_URL)
    if (protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(hostname)) {
      deps.log.warn('AUTH_JWKS_URL is plain http: whoever can tamper with that traffic can sign tokens Quire accepts; use https')
    }
    jwks.warm()
  }
  const skew = config.AUTH_CLOCK_SKEW_SECONDS
  const checks: JWTVerifyOptions = { issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE, clockTolerance: skew }
  const mapping: ClaimMapping = {
    userId: config.AUTH_CLAIM_USER_ID,
    name: config.AUTH_CLAIM_NAME,
    allowed: config.AUTH_CLAIM_ALLOWED,
    readonly: config.AUTH_CLAIM_READONLY,
  }

  const verify = async (token: string): Promise<JWTPayload> => {
    const alg = algorithmOf(token)
    try {
      if (secret !== undefined && alg !== undefined && SECRET_ALGORITHMS.includes(alg)) {
        return (await jwtVerify(token, secret, { ...checks, algorithms: SECRET_ALGORITHMS })).payload
      }
      if (jwks !== undefined && alg !== undefined && JWKS_ALGORITHMS.includes(alg)) {
        return (await jwtVerify(token, jwks.getKey, { ...checks, algorithms: JWKS_ALGORITHMS })).payload
      }
    } catch (err) {
      throw refusal(err)
    }
    throw unauthorized(alg === undefined ? 'invalid token' : 'token algorithm not accepted')
  }

  const identify = async (token: string | undefined): Promise<Grant> => {
    if (!token) throw unauthorized('missing token')
    const payload = await verify(token)
    // jose checks iat only against a maximum age; one from the future is as wrong as an nbf there.
    if (payload.iat !== undefined && payload.iat > Date.now() / 1000 + skew) throw unauthorized('token not yet valid')
    let claims
    try {
      claims = mapClaims(payload, mapping)
    } catch (err) {
      if (err instanceof ClaimError) throw unauthorized('invalid token claims')
      throw err
    }
    const { exp } = payload
    return {
      userId: claims.userId,
      name: claims.name,
      allowed: claims.allowed ?? [],
      readonly: claims.readonly ?? [],
      expiresAt: exp === undefined ? undefined : (exp + skew) * 1000,
    }
  }

  return {
    open: false,
    identify,
    async authenticate (token, docName) {
      const grant = await identify(token)
      const access = accessFor(docName, grant.allowed, grant.readonly)
      if (access === 'none') throw new AuthError(CLOSE.forbidden, CLOSE_REASONS[CLOSE.forbidden])
      return { userId: grant.userId, name: grant.name, access, expiresAt: grant.expiresAt }
    },
  }
}
