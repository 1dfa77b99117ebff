/**
 * The built web client (dist/client): the app at "/" and "/d/<name>", the
 * iframe page at "/embed/<name>", the `<quire-editor>` module at "/embed.js"
 * and hashed assets. Files are readable from any origin so other sites can
 * import the editor's modules; the two pages carry their Content-Security-Policy
 * and who may frame them (headers.ts).
 */
import { createReadStream, existsSync, statSync } from 'node:fs'
import { extname, join, normalize, sep } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pageHeaders } from './headers.js'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.d.ts': 'text/plain; charset=utf-8',
}

/** `embedFrameAncestors`: the CSP frame-ancestors sources of /embed/<name> (headers.ts `embedAncestors`). */
export function createStaticHandler (dir: string | null, embedFrameAncestors = "'self'") {
  const root = dir === null ? null : normalize(dir)
  const pages = pageHeaders(embedFrameAncestors)
  return function serveStatic (req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    if (root === null || (req.method !== 'GET' && req.method !== 'HEAD')) return false
    let file: string
    if (pathname === '/' || pathname.startsWith('/d/')) file = 'index.html'
    else if (pathname.startsWith('/embed/')) file = 'embed.html'
    else file = pathname.slice(1)
    const full = normalize(join(root, file))
    if (!full.startsWith(root + sep) && full !== root) return false
    if (!existsSync(full) || !statSync(full).isFile()) {
      if (file === 'index.html' || file === 'embed.html') {
        res.writeHead(503, { 'content-type': 'text/plain' })
        res.end('The web client is not built: run `npm run build`.\n')
        return true
      }
      return false
    }
    const hashed = file.startsWith('assets/')
    res.writeHead(200, {
      'content-type': TYPES[full.endsWith('.d.ts') ? '.d.ts' : extname(full)] ?? 'application/octet-stream',
      'access-control-allow-origin': '*',
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...file === 'index.html' ? pages.app : file === 'embed.html' ? pages.embed : {},
    })
    if (req.method === 'HEAD') res.end()
    else createReadStream(full).pipe(res)
    return true
  }
}
