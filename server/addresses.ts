/**
 * Parsing the network names a configuration holds and requests carry: web
 * origins (ALLOWED_ORIGINS, EMBED_ORIGINS, the Origin header). Beneath both
 * config.ts and the HTTP layer, so it imports nothing of Quire's.
 */

/** `https://Example.com:443/` -> `https://example.com`; null for anything that is not an http(s) origin. */
export function parseOrigin (text: string): string | null {
  if (!/^https?:\/\/[^/?#]+\/?$/i.test(text)) return null
  try {
    const url = new URL(text)
    return url.username || url.password ? null : url.origin
  } catch {
    return null
  }
}
