/**
 * The built web client (dist/client): the app at "/" and "/d/<name>", the
 * iframe page at "/embed/<name>", the `<quire-editor>` module at "/embed.js"
 * and hashed assets. Files are readable from any origin so other sites can
 * import the editor's modules; the two pages carry their Content-Security-Policy
 * and who may frame them (headers.ts).
 *
 * The modules other sites load by URL (/embed.js, /lib/…, their assets/) are
 * also served under /v/<version>/, the version of @quire/editor they were
 * built from (dist/client/version.json), cached for good: a page that pins a
 * version gets that code or a 404, never another version's
 * (docs/embedding.md, "Without a build step").
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs'
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

const IMMUTABLE = 'public, max-age=31536000, immutable'

/** `/v/<version>/<file>`: a file of the served modules at one version. */
const VERSIONED = /^\/v\/([^/]+)\/(.+)$/

/** What /v/<version>/ serves: the two modules, their chunks and source maps. */
function isServedModule (file: string): boolean {
  return file === 'embed.js' || file === 'embed.js.map' || file.startsWith('lib/') || file.startsWith('assets/')
}

/** The version the build wrote next to the modules (scripts/build-client.mjs), or null for a build without one. */
export function servedVersion (root: string): string | null {
  try {
    const { version } = JSON.parse(readFileSync(join(root, 'version.json'), 'utf8')) as { version?: unknown }
    return typeof version === 'string' ? version : null
  } catch {
    return null
  }
}

/** `embedFrameAncestors`: the CSP frame-ancestors sources of /embed/<name> (headers.ts `embedAncestors`). */
export function createStaticHandler (dir: string | null, embedFrameAncestors = "'self'") {
  const root = dir === null ? null : normalize(dir)
  const version = root === null ? null : servedVersion(root)
  const pages = pageHeaders(embedFrameAncestors)
  return function serveStatic (req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    if (root === null || (req.method !== 'GET' && req.method !== 'HEAD')) return false
    let file: string
    const pinned = VERSIONED.exec(pathname)
    if (pinned !== null) {
      if (!isServedModule(pinned[2])) return false
      if (pinned[1] !== version) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'access-control-allow-origin': '*', 'cache-control': 'no-cache' })
        res.end(`This server serves the editor's modules at version ${version ?? '(none)'}, not ${pinned[1]}: load /v/${version ?? '<version>'}/${pinned[2]}, or /${pinned[2]} for the latest.\n`)
        return true
      }
      file = pinned[2]
    } else if (pathname === '/' || pathname.startsWith('/d/')) file = 'index.html'
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
    // Hashed names and pinned versions never change content; the rest is "latest".
    const immutable = pinned !== null || file.startsWith('assets/')
    res.writeHead(200, {
      'content-type': TYPES[full.endsWith('.d.ts') ? '.d.ts' : extname(full)] ?? 'application/octet-stream',
      'access-control-allow-origin': '*',
      'cache-control': immutable ? IMMUTABLE : 'no-cache',
      ...file === 'index.html' ? pages.app : file === 'embed.html' ? pages.embed : {},
    })
    if (req.method === 'HEAD') res.end()
    else createReadStream(full).pipe(res)
    return true
  }
}
