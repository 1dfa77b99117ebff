/**
 * Security headers (docs/deployment.md, "Hardening"). Every response gets
 * `nosniff` and no referrer; the web pages get a Content-Security-Policy that
 * the built app satisfies (its own modules and styles; inline styles because
 * the editor sets style attributes and adds a <style>; sync over a WebSocket
 * to this same server, which `'self'` covers for ws:/wss:) and say who may
 * frame them: nobody for the app, EMBED_ORIGINS for /embed/<doc>.
 */

/** On every response, whatever serves it. */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

/** For plain text and JSON answers: nothing in them may load or run anything. */
export const NOTHING_ACTIVE = "default-src 'none'; frame-ancestors 'none'"

function pagePolicy (frameAncestors: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ')
}

/** `frame-ancestors` sources for the embed page: Quire's own pages plus these origins (`*`: any site). */
export function embedAncestors (origins: readonly string[] | undefined): string {
  if (origins?.includes('*')) return '*'
  return ["'self'", ...origins ?? []].join(' ')
}

export interface PageHeaders { app: Record<string, string>, embed: Record<string, string> }

export function pageHeaders (embedFrameAncestors: string): PageHeaders {
  return {
    app: { 'content-security-policy': pagePolicy("'none'"), 'x-frame-options': 'DENY' },
    // No X-Frame-Options here: it cannot name a list of sites, and frame-ancestors overrides it anyway.
    embed: { 'content-security-policy': pagePolicy(embedFrameAncestors) },
  }
}
