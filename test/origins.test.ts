/**
 * Origins (docs/configuration.md, "Origins"): which browser pages may open
 * the sync endpoint and call the HTTP API. A foreign `Origin` gets close 4403
 * on the upgrade (counted in quire_connection_closes_total) and HTTP 403 with
 * a one-line JSON reason from the API; requests with no Origin (servers,
 * stock Node clients) are not affected. Real processes, real sockets.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { request } from 'node:http'
import { fleet } from './helpers/fleet.js'
import { whenSynced } from './helpers/clients.js'
import { anyFrame, openRaw } from './helpers/raw-socket.js'
import { readMetrics } from './helpers/metrics.js'
import { mintToken, TEST_SECRET } from './helpers/tokens.js'
import type { QuireProcess } from '../harness/quire.js'

const { start, client, stopAll } = fleet()
afterAll(stopAll)

const FOREIGN = 'http://evil.example'
const LISTED = 'https://app.example:8443'

/** What the server does with an upgrade carrying these headers: 'open', or the close code and reason. */
async function upgrade (q: QuireProcess, doc: string, headers: Record<string, string>): Promise<'open' | { code: number, reason: string }> {
  const raw = await openRaw(`${q.wsUrl}/${doc}`, headers)
  // An admitted connection gets the server's sync step 1 first; a refused one only a close.
  const first = await Promise.race([raw.next(anyFrame, `${doc}: first frame`, 5000).then(() => 'open' as const), raw.whenClosed(`${doc}: close`, 5000)])
  raw.ws.close()
  return first
}

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** An HTTP request with exactly these headers (fetch would not let a test set Host). */
function http (q: QuireProcess, method: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: q.port, method, path, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

const STATE = '/api/documents/origins%2Fapi/state'

describe('open mode, ALLOWED_ORIGINS unset: only the server\'s own origin', () => {
  it('a page from another origin can neither connect (4403, counted) nor call the API (403)', async () => {
    const q = await start()
    expect(await upgrade(q, 'origins/socket', { origin: FOREIGN })).toEqual({ code: 4403, reason: 'origin not allowed' })
    // "null" is what sandboxed frames and file: pages send.
    expect(await upgrade(q, 'origins/socket', { origin: 'null' })).toEqual({ code: 4403, reason: 'origin not allowed' })
    expect((await readMetrics(q.url)).get('quire_connection_closes_total{code="4403"}')).toBe(2)

    const api = await http(q, 'GET', STATE, { origin: FOREIGN })
    expect(api.status).toBe(403)
    expect(api.headers['content-type']).toBe('application/json')
    expect(api.body.trimEnd().split('\n')).toHaveLength(1)
    expect(JSON.parse(api.body)).toEqual({ error: expect.stringContaining('ALLOWED_ORIGINS') })
    // Same host, another port: another origin.
    const otherPort = await http(q, 'GET', STATE, { origin: `http://127.0.0.1:${q.port + 1}` })
    expect(otherPort.status).toBe(403)
  })

  it('its own pages (http or https, by its own host and port), and clients with no Origin, are served', async () => {
    const q = await start()
    expect(await upgrade(q, 'origins/own', { origin: `http://127.0.0.1:${q.port}` })).toBe('open')
    expect(await upgrade(q, 'origins/own', { origin: `https://localhost:${q.port}`, host: `localhost:${q.port}` })).toBe('open')
    expect((await http(q, 'GET', STATE, { origin: `http://127.0.0.1:${q.port}` })).status).toBe(200)
    // A stock y-websocket client from Node sends no Origin.
    await whenSynced(client(q, 'origins/stock'), 'stock client synced', 10_000)
    expect((await http(q, 'GET', STATE, {})).status).toBe(200)
    expect((await readMetrics(q.url)).get('quire_connection_closes_total{code="4403"}')).toBeUndefined()
  })

  it('answers only to loopback names, so a page that points its own name at 127.0.0.1 is not "same origin"', async () => {
    const q = await start()
    const rebound = `rebind.example:${q.port}`
    expect(await upgrade(q, 'origins/rebind', { origin: `http://${rebound}`, host: rebound })).toEqual({ code: 4403, reason: 'host not allowed' })
    const api = await http(q, 'GET', STATE, { host: rebound })
    expect(api.status).toBe(403)
    expect(JSON.parse(api.body).error).toMatch(/ALLOWED_ORIGINS/)
  })
})

describe('ALLOWED_ORIGINS', () => {
  it('listed origins connect and call the API (with CORS); others are refused; the server\'s own pages still work', async () => {
    const q = await start({ ALLOWED_ORIGINS: `${LISTED}/, http://other.example` })
    expect(await upgrade(q, 'origins/listed', { origin: LISTED })).toBe('open')
    expect(await upgrade(q, 'origins/listed', { origin: 'HTTPS://APP.EXAMPLE:8443' })).toBe('open')
    expect(await upgrade(q, 'origins/listed', { origin: 'https://app.example' })).toEqual({ code: 4403, reason: 'origin not allowed' })
    expect(await upgrade(q, 'origins/listed', { origin: `http://127.0.0.1:${q.port}` })).toBe('open')

    const api = await http(q, 'GET', STATE, { origin: LISTED })
    expect(api.status).toBe(200)
    expect(api.headers['access-control-allow-origin']).toBe(LISTED)
    expect(api.headers.vary).toBe('Origin')
    const preflight = await http(q, 'OPTIONS', '/api/documents/origins%2Fapi/updates', {
      origin: LISTED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type',
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBe(LISTED)
    expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/)
    const foreign = await http(q, 'OPTIONS', '/api/documents/origins%2Fapi/updates', { origin: FOREIGN, 'access-control-request-method': 'POST' })
    expect(foreign.status).toBe(403)
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined()
    // Listing origins also says which names the server is reached by: no loopback-only rule.
    expect(await upgrade(q, 'origins/listed', { host: `quire.example:${q.port}` })).toBe('open')
  })

  it('"*" allows every origin', async () => {
    const q = await start({ ALLOWED_ORIGINS: '*' })
    expect(await upgrade(q, 'origins/star', { origin: FOREIGN })).toBe('open')
    expect((await http(q, 'GET', STATE, { origin: FOREIGN })).status).toBe(200)
  })
})

describe('with AUTH_SECRET', () => {
  it('any origin by default (the token decides), only the listed ones when ALLOWED_ORIGINS is set', async () => {
    const token = await mintToken({ sub: 'u', allowedDocumentNames: ['*'] })
    const [open, listed] = await Promise.all([
      start({ AUTH_SECRET: TEST_SECRET }),
      start({ AUTH_SECRET: TEST_SECRET, ALLOWED_ORIGINS: LISTED }),
    ])
    expect(await upgrade(open, `origins/auth?token=${token}`, { origin: FOREIGN })).toBe('open')
    expect(await upgrade(listed, `origins/auth?token=${token}`, { origin: LISTED })).toBe('open')
    // Refused for its origin before its token is even looked at.
    expect(await upgrade(listed, `origins/auth?token=${token}`, { origin: FOREIGN })).toEqual({ code: 4403, reason: 'origin not allowed' })
    expect((await http(listed, 'GET', STATE, { origin: FOREIGN })).status).toBe(403)
    expect(await upgrade(listed, `origins/auth?token=${token}`, {})).toBe('open')
  })
})
