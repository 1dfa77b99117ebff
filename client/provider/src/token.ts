/**
 * Tokens: a fixed string or a callback asked on every (re)connect, the
 * expiry read from a JWT so the provider can fetch a fresh one before the
 * server closes the connection with 4401, and who the token says we are.
 */
export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>

/** Who a token says we are: its `sub`, and its `name` when it has one (what the server shows others). */
export interface TokenUser {
  id: string
  name: string | null
}

/** The claims of a JWT (not verified: the server does that), or {} when it cannot be read. */
export function tokenClaims (token: string): Record<string, unknown> {
  const payload = token.split('.')[1]
  if (!payload) return {}
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '=')
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as unknown
    return claims !== null && typeof claims === 'object' ? claims as Record<string, unknown> : {}
  } catch {
    return {}
  }
}

/** The `exp` claim of a JWT in milliseconds, or null when there is none. */
export function tokenExpiry (token: string): number | null {
  const exp = tokenClaims(token).exp
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null
}

/** The `sub` and `name` of a JWT, or null without a token or a `sub`. */
export function tokenUser (token: string | null | undefined): TokenUser | null {
  if (!token) return null
  const { sub, name } = tokenClaims(token)
  if (typeof sub !== 'string' || sub === '') return null
  return { id: sub, name: typeof name === 'string' && name.trim() !== '' ? name : null }
}
