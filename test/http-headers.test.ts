/**
 * Security headers (docs/deployment.md, "Hardening"): nosniff and no
 * referrer on every answer, a Content-Security-Policy on the web pages, who
 * may frame them (nobody for the app, EMBED_ORIGINS for /embed/<doc>), and
 * modules other sites import still readable from any origin. Chromium's side
 * of it (no violation while editing, frames blocked) is in
 * test/browser/security.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import { fleet } from './helpers/fleet.js'
import { within } from './helpers/wait.js'

const { start, stopAll } = fleet()
afterAll(stopAll)

const directive = (csp: string | null, name: string): string | undefined =>
  csp?.split(';').map((d) => d.trim()).find((d) => d.startsWith(`${name} `))

describe('headers', () => {
  it('every answer: nosniff and no referrer; pages: CSP, and the app may not be framed', async () => {
    const q = await start()
    const paths = ['/', '/d/notes', '/embed/notes', '/embed.js', '/lib/quire-editor.js', '/healthz', '/readyz', '/metrics', '/nope', '/api/documents/notes/state']
    for (const path of paths) {
      const res = await fetch(`${q.url}${path}`)
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer')
    }
    for (const path of ['/', '/d/team/notes']) {
      const res = await fetch(`${q.url}${path}`)
      const csp = res.headers.get('content-security-policy')
      expect(directive(csp, 'frame-ancestors'), path).toBe("frame-ancestors 'none'")
      expect(directive(csp, 'script-src'), path).toBe("script-src 'self'")
      expect(directive(csp, 'connect-src'), path).toBe("connect-src 'self'")
      expect(directive(csp, 'object-src'), path).toBe("object-src 'none'")
      expect(res.headers.get('x-frame-options'), path).toBe('DENY')
    }
    const embed = await fetch(`${q.url}/embed/team/notes`)
    expect(directive(embed.headers.get('content-security-policy'), 'frame-ancestors')).toBe("frame-ancestors 'self'")
    expect(embed.headers.get('x-frame-options')).toBeNull()
    for (const path of ['/embed.js', '/lib/quire-editor.js']) {
      const res = await fetch(`${q.url}${path}`, { headers: { origin: 'https://someone-else.example' } })
      expect(res.status, path).toBe(200)
      expect(res.headers.get('access-control-allow-origin'), path).toBe('*')
      expect(res.headers.get('content-type'), path).toMatch(/^text\/javascript/)
    }
    // Text answers run nothing.
    expect((await fetch(`${q.url}/healthz`)).headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
  })

  it('/embed/<doc> may be framed by EMBED_ORIGINS, else by ALLOWED_ORIGINS', async () => {
    const [embed, allowed, any] = await Promise.all([
      start({ EMBED_ORIGINS: 'https://blog.example,http://localhost:3000', ALLOWED_ORIGINS: 'https://app.example' }),
      start({ ALLOWED_ORIGINS: 'https://app.example' }),
      start({ EMBED_ORIGINS: '*' }),
    ])
    const ancestors = async (q: { url: string }): Promise<string | undefined> =>
      directive((await fetch(`${q.url}/embed/notes`)).headers.get('content-security-policy'), 'frame-ancestors')
    expect(await ancestors(embed)).toBe("frame-ancestors 'self' https://blog.example http://localhost:3000")
    expect(await ancestors(allowed)).toBe("frame-ancestors 'self' https://app.example")
    expect(await ancestors(any)).toBe('frame-ancestors *')
    // The app itself is never framed.
    expect(directive((await fetch(`${any.url}/`)).headers.get('content-security-policy'), 'frame-ancestors')).toBe("frame-ancestors 'none'")
  })
})

describe('hostile request targets', () => {
  it('"GET //" gets 400 and the server goes on serving', async () => {
    const q = await start()
    const answer = await within(new Promise<string>((resolve, reject) => {
      const socket = connect(q.port, '127.0.0.1', () => socket.end('GET // HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'))
      let text = ''
      socket.on('data', (c: Buffer) => { text += c.toString() })
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
    }), 5000, 'answer to GET //')
    expect(answer).toMatch(/^HTTP\/1\.1 400 /)
    expect((await fetch(`${q.url}/healthz`)).status).toBe(200)
  })
})
