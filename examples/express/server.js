// An Express app with its own sign-in (a signed session cookie) and Quire
// mounted under /collab: the authenticate hook lets in whoever has the
// app's cookie, and nobody else. See README.md and Quire's docs/server-library.md.
import { createServer } from 'node:http'
import express from 'express'
import cookieParser from 'cookie-parser'
import { createQuireServer } from '@quire/server'

const PORT = Number(process.env.PORT ?? 3000)
const HOST = process.env.HOST ?? '127.0.0.1'
const SESSION_SECRET = process.env.SESSION_SECRET ?? 'a development secret, set SESSION_SECRET'
const PREFIX = '/collab'

const readCookies = cookieParser(SESSION_SECRET)

/** Who the request's session cookie names, or undefined (the cookie is signed: nobody can write one). */
function sessionUser (req) {
  readCookies(req, undefined, () => {})
  const user = req.signedCookies?.session
  return typeof user === 'string' && user !== '' ? user : undefined
}

const quire = await createQuireServer({
  dataDir: process.env.DATA_DIR ?? './data',
  // Every WebSocket upgrade (and fallback-transport request) under /collab asks this.
  authenticate: ({ request, documentName }) => {
    const user = sessionUser(request)
    if (user === undefined) return false // 4401: not signed in
    return { userId: user, name: user, access: documentName.startsWith('readonly/') ? 'read' : 'write' }
  },
  onChange: ({ documentName, users }) => {
    console.log(JSON.stringify({ msg: 'document changed', documentName, users: users.map((u) => u.userId) }))
  },
})

const app = express()
app.use(readCookies)

// A stub sign-in: a real app checks a password or an identity provider first.
app.get('/login', (req, res) => {
  const name = String(req.query.name ?? '').trim()
  if (!/^[\w.-]{1,40}$/.test(name)) return res.status(400).send('name: 1-40 letters, digits, . _ -\n')
  res.cookie('session', name, { signed: true, httpOnly: true, sameSite: 'lax' })
  res.redirect('/')
})

app.get('/logout', (_req, res) => {
  res.clearCookie('session')
  res.redirect('/')
})

app.get('/', (req, res) => {
  const user = sessionUser(req)
  if (user === undefined) {
    return res.type('html').send('<!doctype html><title>Sign in</title><form action="/login"><input name="name" placeholder="Your name"><button>Sign in</button></form>')
  }
  // The editor element comes from Quire itself, under the prefix: its elements
  // talk to the Quire that served it, prefix included; the cookie goes along with the WebSocket.
  const name = escapeHtml(user)
  res.type('html').send(`<!doctype html>
<meta charset="utf-8">
<title>Notes</title>
<p>Signed in as ${name} · <a href="/logout">sign out</a></p>
<quire-editor doc="notes/welcome" user-name="${name}" style="height: 60vh"></quire-editor>
<script type="module" src="${PREFIX}/embed.js"></script>`)
})

const server = createServer(app)
quire.attach(server, { prefix: PREFIX })
server.listen(PORT, HOST, () => console.log(JSON.stringify({ msg: 'example listening', url: `http://${HOST}:${PORT}` })))

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    quire.close().then(() => server.close(() => process.exit(0)))
  })
}

/** A name typed at /login goes into the page as text, never as markup. */
function escapeHtml (text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
