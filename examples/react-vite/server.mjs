// The example's own backend: serves the built app (dist/) and signs people in
// with a name (a stub for your real sign-in), then mints the short-lived Quire
// tokens the editor asks for, signed with the secret Quire is started with
// (AUTH_SECRET; docs/auth.md).
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { SignJWT, jwtVerify } from 'jose'

const QUIRE_SECRET = process.env.QUIRE_SECRET // the same value as Quire's AUTH_SECRET
const QUIRE_SERVER = process.env.QUIRE_SERVER ?? 'ws://127.0.0.1:1234'
const PORT = Number(process.env.PORT ?? 5174)
if (!QUIRE_SECRET) throw new Error('set QUIRE_SECRET to Quire\'s AUTH_SECRET')

const quireKey = new TextEncoder().encode(QUIRE_SECRET)
const sessionKey = crypto.getRandomValues(new Uint8Array(32)) // sessions end when this process does
const dist = join(import.meta.dirname, 'dist')
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' }

const json = (res, status, body, headers = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))

async function signedIn (req) {
  const cookie = /(?:^|;\s*)session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1]
  if (!cookie) return null
  try { return (await jwtVerify(cookie, sessionKey)).payload } catch { return null }
}

async function readJson (req) {
  let body = ''
  for await (const chunk of req) body += chunk
  return JSON.parse(body || '{}')
}

const routes = {
  'GET /api/session': async (req, res) => {
    const user = await signedIn(req)
    if (!user) return res.writeHead(204).end() // nobody yet: the app shows its sign-in form
    json(res, 200, { id: user.sub, name: user.name, server: QUIRE_SERVER })
  },
  'POST /api/session': async (req, res) => {
    const name = String((await readJson(req)).name ?? '').trim().slice(0, 64)
    if (!name) return json(res, 400, { error: 'a name is needed' })
    const id = name.toLowerCase()
    const session = await new SignJWT({ name }).setProtectedHeader({ alg: 'HS256' }).setSubject(id).setExpirationTime('8h').sign(sessionKey)
    json(res, 200, { id, name, server: QUIRE_SERVER }, { 'set-cookie': `session=${session}; HttpOnly; SameSite=Lax; Path=/` })
  },
  // What Quire checks: who (sub, name), which documents, until when (docs/auth.md, "The token").
  'GET /api/quire-token': async (req, res) => {
    const user = await signedIn(req)
    if (!user) return json(res, 401, { error: 'not signed in' })
    const token = await new SignJWT({ name: user.name, allowedDocumentNames: ['react/*'] })
      .setProtectedHeader({ alg: 'HS256' }).setSubject(user.sub).setIssuedAt().setExpirationTime('10m').sign(quireKey)
    json(res, 200, { token })
  },
}

// Files of the build; any other path is the app (it reads ?doc= itself). An absolute path normalizes without "..".
async function serveApp (req, res) {
  const file = join(dist, normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)))
  const asset = extname(file) in TYPES ? await readFile(file).catch(() => null) : null
  const type = asset ? TYPES[extname(file)] : TYPES['.html']
  res.writeHead(200, { 'content-type': type }).end(asset ?? await readFile(join(dist, 'index.html')))
}

createServer((req, res) => {
  const route = routes[`${req.method} ${req.url.split('?')[0]}`]
  ;(route ?? serveApp)(req, res).catch((err) => json(res, 500, { error: String(err) }))
}).listen(PORT, '127.0.0.1', () => console.log(`react-vite example on http://127.0.0.1:${PORT}`))
