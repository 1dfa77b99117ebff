/** Client tokens as an application would mint them: HS256 JWTs signed with jose. */
import { SignJWT } from 'jose'

export const TEST_SECRET = 'test-secret-at-least-16-chars-long'

export interface TokenClaims {
  sub?: string
  name?: string
  allowedDocumentNames?: string[]
  readonlyDocumentNames?: string[]
  [claim: string]: unknown
}

/** `expiresAt`: seconds since the epoch; omitted means no `exp` claim. */
export function mintToken (claims: TokenClaims, opts: { secret?: string, expiresAt?: number, alg?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: opts.alg ?? 'HS256' }).setIssuedAt()
  if (opts.expiresAt !== undefined) jwt.setExpirationTime(opts.expiresAt)
  return jwt.sign(new TextEncoder().encode(opts.secret ?? TEST_SECRET))
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
