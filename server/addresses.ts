/**
 * Parsing the network names a configuration holds and requests carry: web
 * origins (ALLOWED_ORIGINS, EMBED_ORIGINS, the Origin header) and proxy
 * addresses (TRUST_PROXY). Beneath config.ts, the HTTP layer and the
 * transport, so it imports nothing of Quire's.
 */
import { isIP } from 'node:net'

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

/** TRUST_PROXY: how many proxies stand in front of Quire, or which addresses they have. */
export type TrustProxy = { hops: number } | { proxies: string[] }

/** The most proxies TRUST_PROXY may count. */
const MAX_HOPS = 32

/** Parse TRUST_PROXY: a number of proxies, or comma-separated addresses and CIDR ranges; null when invalid. */
export function parseTrustProxy (value: string): TrustProxy | null {
  if (/^\d+$/.test(value)) {
    const hops = Number(value)
    return hops <= MAX_HOPS ? { hops } : null
  }
  const proxies = value.split(',').map((p) => p.trim())
  return proxies.every(isAddressOrRange) ? { proxies } : null
}

function isAddressOrRange (entry: string): boolean {
  const [address, prefix, extra] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || extra !== undefined) return false
  if (prefix === undefined) return true
  return /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
}
