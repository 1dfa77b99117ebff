/**
 * Claim mapping: where the user id, display name and document lists are read
 * in a verified token's payload. Identity providers name these differently
 * (`preferred_username`, `https://example.com/docs`, `realm_access.roles`,
 * `custom:docs`), so each is a configurable path (docs/auth.md, "Tokens from
 * an identity provider").
 */

export interface ClaimMapping {
  userId: string
  name: string
  allowed: string
  readonly: string
}

/** Quire's own claim names, those of tokens an application mints itself. */
export const DEFAULT_CLAIMS: ClaimMapping = {
  userId: 'sub',
  name: 'name',
  allowed: 'allowedDocumentNames',
  readonly: 'readonlyDocumentNames',
}

/** What the token says about its user, read through a ClaimMapping. */
export interface MappedClaims {
  userId: string
  name?: string
  allowed?: string[]
  readonly?: string[]
}

/** A claim is there but is not of a usable shape: the token is refused (4401). */
export class ClaimError extends Error {}

function isRecord (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * The value at `path`: a claim of that exact name first (so namespaced
 * claims such as `https://example.com/docs` are found whole, dots and all),
 * else a dotted path into nested objects, trying the longest key that exists
 * at each level (`https://example.com/quire.docs` reads `docs` inside the
 * claim `https://example.com/quire`). Own properties only.
 */
export function readClaim (claims: unknown, path: string): unknown {
  if (!isRecord(claims)) return undefined
  if (Object.hasOwn(claims, path)) return claims[path]
  for (let dot = path.lastIndexOf('.'); dot > 0; dot = path.lastIndexOf('.', dot - 1)) {
    const head = path.slice(0, dot)
    if (!Object.hasOwn(claims, head)) continue
    const found = readClaim(claims[head], path.slice(dot + 1))
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * A list of document names or patterns: an array of strings, or one string
 * holding space-separated names (the form of OAuth's `scope`, and the only
 * list some providers can put in a token, such as Cognito's custom
 * attributes). Absent (or null) is no list.
 */
export function claimList (value: unknown, path: string): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string') return value.split(/\s+/).filter((name) => name !== '')
  if (Array.isArray(value) && value.every((name) => typeof name === 'string')) return value
  throw new ClaimError(`claim ${path} is not a list of document names`)
}

/** Everything an Identity needs from a verified payload; throws ClaimError when the user id is missing or a list is malformed. */
export function mapClaims (payload: unknown, mapping: ClaimMapping): MappedClaims {
  const id = readClaim(payload, mapping.userId)
  // Some providers use numeric ids; anything else (objects, "") is no id.
  const userId = typeof id === 'string' ? id : typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : ''
  if (userId === '') throw new ClaimError(`claim ${mapping.userId} (the user id) is missing or empty`)
  const name = readClaim(payload, mapping.name)
  return {
    userId,
    // A display name of another type is ignored rather than refused: it only labels presence.
    name: typeof name === 'string' && name !== '' ? name : undefined,
    allowed: claimList(readClaim(payload, mapping.allowed), mapping.allowed),
    readonly: claimList(readClaim(payload, mapping.readonly), mapping.readonly),
  }
}
