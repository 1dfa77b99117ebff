/** URLs of the web app and of the server it talks to. */

/** `/d/team/notes` for the document `team/notes` (each segment percent-encoded). */
export function docPath (name: string): string {
  return `/d/${name.split('/').map(encodeURIComponent).join('/')}`
}

/** The document name in a path under `prefix` (`/d/` or `/embed/`), or null. */
export function docNameFrom (pathname: string, prefix: string): string | null {
  if (!pathname.startsWith(prefix)) return null
  try {
    const name = decodeURIComponent(pathname.slice(prefix.length)).replace(/\/+$/, '')
    return name === '' ? null : name
  } catch {
    return null
  }
}

/**
 * The sync endpoint: this page's server, unless the build says otherwise
 * (VITE_QUIRE_SERVER: a full `ws(s)://` URL, or `:port` for this host name
 * at another port, as `npm run dev` sets it).
 */
export function serverUrl (): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const configured = import.meta.env.VITE_QUIRE_SERVER as string | undefined
  if (configured?.startsWith(':')) return `${scheme}//${location.hostname}${configured}`
  if (configured) return configured
  return `${scheme}//${location.host}`
}

/** The HTTP API of the same server: the sync endpoint's URL as http(s). */
export function apiUrl (): string {
  return serverUrl().replace(/^ws/, 'http')
}
