/**
 * What Chromium does with Quire's safe defaults: a page on another origin
 * cannot use an open-mode server (its socket is closed with 4403, its API
 * calls get 403 and write nothing) until its origin is in ALLOWED_ORIGINS;
 * a Node client with no Origin is unaffected; the editor runs under its
 * Content-Security-Policy without a single violation; /embed/<doc> can be
 * framed only by the sites EMBED_ORIGINS (here: ALLOWED_ORIGINS) names, and
 * the app by nobody.
 */
import * as Y from 'yjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrowserContext, ConsoleMessage, Frame, Page } from 'playwright-core'
import { browserSuite, hostSite, serverText, typeAtEnd, waitStatus, watchErrors, type HostSite } from './harness.js'
import { freePort } from '../../harness/ports.js'
import { startQuire, type QuireProcess } from '../../harness/quire.js'
import { connectClient, whenDoc, whenSynced } from '../helpers/clients.js'
import { within } from '../helpers/wait.js'

const hostPort = await freePort()
const SITE = `http://localhost:${hostPort}`
/** Open mode, defaults: only its own origin. */
const suite = browserSuite()
/** Open mode with the site listed. */
let listed: QuireProcess
let site: HostSite
const contexts: BrowserContext[] = []

function framesPage (): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>frames</title></head><body>
  <iframe id="unlisted" src="${suite.quire.url}/embed/sec/frames?name=Uma"></iframe>
  <iframe id="listed" src="${listed.url}/embed/sec/frames?name=Lia"></iframe>
  <iframe id="app" src="${listed.url}/d/sec/frames?name=Ada"></iframe>
</body></html>`
}

beforeAll(async () => {
  listed = await startQuire({ ALLOWED_ORIGINS: SITE })
  site = await hostSite(hostPort, (path) => {
    if (path === '/blank') return '<!doctype html><html><head><meta charset="utf-8"><title>elsewhere</title></head><body></body></html>'
    if (path === '/frames') return framesPage()
    return undefined
  })
})
afterAll(async () => {
  for (const c of contexts) await c.close()
  await Promise.all([listed?.kill(), site?.close()])
})

/** A page whose console and CSP violations (in every frame) are recorded, not treated as failures. */
async function recordedPage (): Promise<{ page: Page, console: string[] }> {
  const context = await suite.browser.newContext()
  contexts.push(context)
  await context.addInitScript(() => {
    const w = window as unknown as { cspViolations: string[] }
    w.cspViolations = []
    document.addEventListener('securitypolicyviolation', (e) => w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`))
  })
  const page = await context.newPage()
  const messages: string[] = []
  page.on('console', (msg: ConsoleMessage) => messages.push(msg.text()))
  return { page, console: messages }
}

/**
 * The HTTP status of each response as the network saw it, also for
 * responses CORS keeps from the page (Playwright reports none for those).
 */
async function networkStatuses (page: Page): Promise<(url: string) => Promise<number>> {
  const cdp = await page.context().newCDPSession(page)
  // The two events of one request may come in either order.
  const urls = new Map<string, string>()
  const codes = new Map<string, number>()
  const seen = new Map<string, number>()
  const waiting = new Map<string, (status: number) => void>()
  const match = (requestId: string): void => {
    const url = urls.get(requestId)
    const status = codes.get(requestId)
    if (url === undefined || status === undefined) return
    seen.set(url, status)
    waiting.get(url)?.(status)
  }
  cdp.on('Network.requestWillBeSent', (e) => { urls.set(e.requestId, e.request.url); match(e.requestId) })
  cdp.on('Network.responseReceivedExtraInfo', (e) => { codes.set(e.requestId, e.statusCode); match(e.requestId) })
  await cdp.send('Network.enable')
  return (url) => within(new Promise<number>((resolve) => {
    const status = seen.get(url)
    if (status !== undefined) resolve(status)
    else waiting.set(url, resolve)
  }), 10_000, `a response from ${url}`)
}

const violations = (scope: Page | Frame): Promise<string[]> =>
  scope.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)

/** In the page: open a WebSocket and report 'open' on its first message, or its close. */
function trySocket (page: Page, url: string): Promise<string | { code: number, reason: string }> {
  return within(page.evaluate((u) => new Promise<string | { code: number, reason: string }>((resolve) => {
    const ws = new WebSocket(u)
    ws.binaryType = 'arraybuffer'
    ws.onmessage = () => { resolve('open'); ws.close() }
    ws.onclose = (e) => resolve({ code: e.code, reason: e.reason })
  }), url), 10_000, `socket ${url}: first message or close`)
}

/** A Yjs update that writes `text` into the editor's fragment. */
function paragraphUpdate (text: string): number[] {
  const doc = new Y.Doc()
  const p = new Y.XmlElement('paragraph')
  p.insert(0, [new Y.XmlText(text)])
  doc.getXmlFragment('default').insert(0, [p])
  return [...Y.encodeStateAsUpdate(doc)]
}

describe('a page on another origin', () => {
  it('in open mode cannot open the sync socket (4403) nor call the API (403, nothing written)', async () => {
    const { page } = await recordedPage()
    await page.goto(`${SITE}/blank`)
    const quire = suite.quire
    expect(await trySocket(page, `${quire.wsUrl}/sec/foreign`)).toEqual({ code: 4403, reason: 'origin not allowed' })

    const statuses = await networkStatuses(page)
    const stateUrl = `${quire.url}/api/documents/sec%2Fforeign/state`
    expect(await page.evaluate((u) => fetch(u).then((r) => `read ${r.status}`, () => 'blocked'), stateUrl)).toBe('blocked')
    expect(await statuses(stateUrl)).toBe(403)

    // A "simple" cross-origin POST (no preflight): the browser sends it whatever CORS says; the server refuses it.
    const updatesUrl = `${quire.url}/api/documents/sec%2Fforeign/updates`
    expect(await page.evaluate(({ u, bytes }) => fetch(u, { method: 'POST', mode: 'no-cors', body: new Uint8Array(bytes) })
      .then((r) => r.type), { u: updatesUrl, bytes: paragraphUpdate('planted') })).toBe('opaque')
    expect(await statuses(updatesUrl)).toBe(403)
    expect(await serverText(quire.url, 'sec/foreign')).toBe('')
  })

  it('works once its origin is listed in ALLOWED_ORIGINS: socket, API reads and writes (CORS)', async () => {
    const { page } = await recordedPage()
    await page.goto(`${SITE}/blank`)
    expect(await trySocket(page, `${listed.wsUrl}/sec/listed`)).toBe('open')
    const base = `${listed.url}/api/documents/sec%2Flisted`
    const wrote = await page.evaluate(({ u, bytes }) => fetch(u, {
      method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(bytes),
    }).then((r) => r.status), { u: `${base}/updates`, bytes: paragraphUpdate('from the listed site') })
    expect(wrote).toBe(200)
    const read = await page.evaluate((u) => fetch(u).then(async (r) => `${r.status} ${(await r.arrayBuffer()).byteLength > 2}`), `${base}/state`)
    expect(read).toBe('200 true')
    expect(await serverText(listed.url, 'sec/listed')).toBe('from the listed site')
  })
})

describe('the editor under its Content-Security-Policy', () => {
  it('loads, syncs, shows carets and presence without one violation; a Node client with no Origin edits along', async () => {
    const [a, b] = [await recordedPage(), await recordedPage()]
    for (const u of [a, b]) {
      const errors: string[] = []
      watchErrors(u.page, errors)
      suite.users.push({ context: u.page.context(), page: u.page, errors })
    }
    await a.page.goto(`${suite.quire.url}/d/sec/csp?name=Vic`)
    await b.page.goto(`${suite.quire.url}/d/sec/csp?name=Wes`)
    await Promise.all([waitStatus(a.page, 'connected'), waitStatus(b.page, 'connected')])
    const node = connectClient(suite.quire.wsUrl, 'sec/csp')
    try {
      await whenSynced(node, 'Node client synced', 10_000)
      await a.page.locator('button[aria-label="Bold"], button[title="Bold"]').first().click()
      await typeAtEnd(a.page, a.page.locator('.ProseMirror'), 'Typed under a strict policy.')
      await waitStatus(a.page, 'connected', true)
      await b.page.locator('.collaboration-carets__label', { hasText: 'Vic' }).waitFor()
      await b.page.locator('[data-testid="presence-user"]', { hasText: 'Vic' }).waitFor()
      const fragment = node.doc.getXmlFragment('default')
      await whenDoc(node.doc, () => fragment.toString().includes('Typed under a strict policy.'), 'Node client got the text', 10_000)
    } finally {
      node.destroy()
    }
    expect(await violations(a.page)).toEqual([])
    expect(await violations(b.page)).toEqual([])
    expect(a.console.filter((m) => /Content Security Policy/.test(m))).toEqual([])
    expect(b.console.filter((m) => /Content Security Policy/.test(m))).toEqual([])
  })
})

describe('framing', () => {
  it('/embed/<doc> loads in a listed site\'s iframe and is blocked in an unlisted server\'s; the app is never framed', async () => {
    const { page, console } = await recordedPage()
    // Chromium's words: Framing 'http://host:port/' violates the following Content Security Policy directive: "frame-ancestors …".
    const refused = (url: string, ancestors: string): Promise<unknown> => page.waitForEvent('console', {
      predicate: (m) => m.text().startsWith(`Framing '${url}/' violates`) && m.text().includes(`"frame-ancestors ${ancestors}"`),
      timeout: 15_000,
    })
    const blocked = [refused(suite.quire.url, "'self'"), refused(listed.url, "'none'")]
    await page.goto(`${SITE}/frames`)
    const embedded = page.frameLocator('#listed')
    await embedded.locator('.ProseMirror').waitFor()
    await embedded.locator('[data-testid="connection-status"][data-status="connected"]').waitFor()
    await Promise.all(blocked)
    // The refused frames hold Chromium's error page, not Quire's.
    const childUrls = page.mainFrame().childFrames().map((f) => f.url())
    expect(childUrls.filter((u) => u.startsWith('chrome-error:'))).toHaveLength(2)
    expect(childUrls.filter((u) => u.startsWith(`${listed.url}/embed/`))).toHaveLength(1)
    const listedFrame = page.mainFrame().childFrames().find((f) => f.url().startsWith(`${listed.url}/embed/`))!
    expect(await violations(listedFrame)).toEqual([])
    expect(console.filter((m) => /^Framing .* violates/.test(m))).toHaveLength(2)
  })
})
