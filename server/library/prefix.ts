/**
 * Quire inside a host app's `http.Server` under a path prefix
 * (docs/server-library.md, "Mounting"): upgrades and requests whose path is
 * the prefix or below it go to Quire with the prefix taken off their url;
 * everything else stays the host's.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'

export interface Handlers {
  handleRequest (req: IncomingMessage, res: ServerResponse): void
  handleUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void
}

/** `"collab/"` → `"/collab"`; `""` and `"/"` → `""` (the whole server). */
export function normalizePrefix (prefix = ''): string {
  const trimmed = prefix.replace(/\/+$/, '')
  if (trimmed === '') return ''
  const withSlash = trimmed.startsWith('/') ? trimmed : `/${trimmed}`
  if (/[?#]/.test(withSlash)) throw new TypeError(`prefix ${JSON.stringify(prefix)} must be a path, without a query or fragment`)
  return withSlash
}

/** `url` below `prefix` with the prefix taken off (`/collab/a?x` → `/a?x`, `/collab` → `/`), or null when it is not below it. */
export function underPrefix (url: string, prefix: string): string | null {
  if (prefix === '') return url
  if (!url.startsWith(prefix)) return null
  const rest = url.slice(prefix.length)
  if (rest === '') return '/'
  if (rest.startsWith('/')) return rest
  if (rest.startsWith('?')) return `/${rest}`
  return null
}

const NOT_FOUND = 'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

/**
 * Route `server`'s requests and upgrades under `prefix` to `quire`. The
 * request listeners the server has now (an Express app given to
 * `createServer`) keep every other request. An upgrade outside the prefix
 * that no other upgrade listener is there to take gets a 404. Returns what
 * undoes it.
 */
export function attachUnder (server: Server, quire: Handlers, prefix: string): () => void {
  const host = server.listeners('request') as RequestListener[]
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const rest = underPrefix(req.url ?? '/', prefix)
    if (rest === null) {
      for (const listener of host) listener.call(server, req, res)
      return
    }
    req.url = rest
    quire.handleRequest(req, res)
  }
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const rest = underPrefix(req.url ?? '/', prefix)
    if (rest === null) {
      if (server.listenerCount('upgrade') === 1) socket.end(NOT_FOUND)
      return
    }
    req.url = rest
    quire.handleUpgrade(req, socket, head)
  }
  server.removeAllListeners('request')
  server.on('request', onRequest)
  server.on('upgrade', onUpgrade)
  return () => {
    server.off('request', onRequest)
    server.off('upgrade', onUpgrade)
    for (const listener of host) server.on('request', listener)
  }
}
