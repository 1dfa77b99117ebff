/**
 * The web editor where WebSockets do not get through (docs/editor.md,
 * "Connection"): in a browser with no `WebSocket` at all, and behind a proxy
 * (started here) that answers every upgrade with 403 but forwards plain
 * HTTP, the editor connects over the HTTP stream, edits with a user on a
 * WebSocket, and says which transport it uses. When the proxy starts letting
 * upgrades through, the editor moves back to a WebSocket by itself, and no
 * edit is lost on the way. Embedded in another origin's page, the stream
 * works too (its requests carry CORS answers, and need no preflight).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { browserSuite, docText, hostSite, serverText, typeAtEnd, waitForText, waitStatus, watchErrors, type HostSite, type User } from './harness.js'
import { startUpgradeProxy, type UpgradeProxy } from '../helpers/upgrade-proxy.js'
import { freePort } from '../../harness/ports.js'
import { waitFor } from '../helpers/wait.js'

// Another origin ("localhost", another port) whose pages may use Quire.
const hostPort = await freePort()
const suite = browserSuite({ ALLOWED_ORIGINS: `http://localhost:${hostPort}` })
let proxy: UpgradeProxy | undefined
let host: HostSite | undefined
afterAll(async () => {
  await proxy?.close()
  await host?.close()
})

/** An init script: a browser without WebSockets. */
const noWebSocket = (): void => { delete (window as { WebSocket?: unknown }).WebSocket }

const STATUS = '[data-testid="connection-status"]'

/** A new person at `url` whose pages run `init` first. */
async function openWith (url: string, init?: () => void): Promise<User> {
  const context = await suite.browser.newContext({ viewport: { width: 1100, height: 640 } })
  if (init) await context.addInitScript(init)
  const page = await context.newPage()
  const errors: string[] = []
  watchErrors(page, errors)
  await page.goto(url)
  await page.locator('.ProseMirror').first().waitFor({ state: 'attached' })
  const user = { context, page, errors }
  suite.users.push(user)
  return user
}

/** Resolves once the status element says the connection is on `transport`. */
async function waitTransport (user: User, transport: 'websocket' | 'stream'): Promise<void> {
  await user.page.locator(`${STATUS}[data-status="connected"][data-transport="${transport}"]`).waitFor()
}

describe('the HTTP fallback in the browser', () => {
  it('with no WebSocket in the page: connects over the stream and edits with a WebSocket user', async () => {
    const doc = 'fallback/no-websocket'
    const [bob, alice] = await Promise.all([
      openWith(`${suite.quire.url}/d/${doc}?name=Bob`, noWebSocket),
      openWith(`${suite.quire.url}/d/${doc}?name=Alice`),
    ])
    await Promise.all([waitTransport(bob, 'stream'), waitTransport(alice, 'websocket')])
    expect(await bob.page.evaluate(() => typeof (window as { WebSocket?: unknown }).WebSocket)).toBe('undefined')
    // The fallback is said on screen, not only in an attribute.
    await bob.page.locator(`${STATUS} .quire-status-hint`, { hasText: 'HTTP fallback' }).waitFor()
    expect(await alice.page.locator(`${STATUS} .quire-status-hint`).isHidden()).toBe(true)

    const bobEditor = bob.page.locator('.ProseMirror')
    const aliceEditor = alice.page.locator('.ProseMirror')
    await typeAtEnd(bob.page, bobEditor, 'Bob writes over HTTP.')
    await waitForText(aliceEditor, 'Bob writes over HTTP.')
    await typeAtEnd(alice.page, aliceEditor, ' Alice answers over a WebSocket.')
    await waitForText(bobEditor, 'Bob writes over HTTP. Alice answers over a WebSocket.')
    // Saved means acknowledged by the server, over the stream too; presence crosses as well.
    await waitStatus(bob.page, 'connected', true)
    await bob.page.locator('[data-testid="presence-user"]', { hasText: 'Alice' }).waitFor()
    await alice.page.locator('[data-testid="presence-user"]', { hasText: 'Bob' }).waitFor()
    await alice.page.locator('.collaboration-carets__label', { hasText: 'Bob' }).waitFor()
  })

  it('behind a proxy that refuses upgrades: the stream; once upgrades pass, back to a WebSocket without losing an edit', async () => {
    proxy = await startUpgradeProxy(suite.quire.port, 'refuse')
    const doc = 'fallback/proxy'
    const [carol, dan] = await Promise.all([
      openWith(`${proxy.url}/d/${doc}?name=Carol`),
      openWith(`${suite.quire.url}/d/${doc}?name=Dan`),
    ])
    await Promise.all([waitTransport(carol, 'stream'), waitTransport(dan, 'websocket')])
    expect(proxy.upgrades.refuse).toBeGreaterThanOrEqual(1)
    await carol.page.locator(`${STATUS} .quire-status-hint`, { hasText: 'HTTP fallback' }).waitFor()

    const carolEditor = carol.page.locator('.ProseMirror')
    const danEditor = dan.page.locator('.ProseMirror')
    await typeAtEnd(carol.page, carolEditor, 'Carol, behind the proxy.')
    await waitForText(danEditor, 'Carol, behind the proxy.')

    // The network changes while Carol types: her editor finds a WebSocket that gets through.
    proxy.mode = 'allow'
    await carolEditor.click()
    await carol.page.keyboard.press('Control+End')
    const typing = carol.page.keyboard.type(' She keeps typing while the network changes under her.', { delay: 40 })
    await waitTransport(carol, 'websocket')
    await typing
    expect(proxy.upgrades.allow).toBeGreaterThanOrEqual(1)
    expect(await carol.page.locator(`${STATUS} .quire-status-hint`).isHidden()).toBe(true)
    await typeAtEnd(carol.page, carolEditor, ' Now over a WebSocket.')

    const expected = 'Carol, behind the proxy. She keeps typing while the network changes under her. Now over a WebSocket.'
    await waitForText(danEditor, expected)
    await waitStatus(carol.page, 'connected', true)
    expect(await docText(carolEditor)).toBe(expected)
    expect(await docText(danEditor)).toBe(expected)
    await waitFor(() => serverText(suite.quire.url, doc), (text) => text === expected, 'the server to hold every edit')
  })

  it('embedded in another origin\'s page with no WebSocket: the stream, across origins', async () => {
    const doc = 'fallback/embedded'
    host = await hostSite(hostPort, () => `<!doctype html><html><head><meta charset="utf-8"><title>Elsewhere</title></head><body>
      <quire-editor server="${suite.quire.wsUrl}" doc="${doc}" user-name="Erin" style="height: 300px"></quire-editor>
      <script type="module">import '${suite.quire.url}/embed.js'</script></body></html>`)
    const [site, frank] = await Promise.all([
      openWith(`${host.origin}/`, noWebSocket),
      openWith(`${suite.quire.url}/d/${doc}?name=Frank`),
    ])
    await site.page.locator(`quire-editor ${STATUS}[data-status="connected"][data-transport="stream"]`).waitFor()
    await waitTransport(frank, 'websocket')
    const erinEditor = site.page.locator('quire-editor .ProseMirror')
    await typeAtEnd(site.page, erinEditor, 'Erin, embedded, over HTTP.')
    await waitForText(frank.page.locator('.ProseMirror'), 'Erin, embedded, over HTTP.')
    await typeAtEnd(frank.page, frank.page.locator('.ProseMirror'), ' Frank answers.')
    await waitForText(erinEditor, 'Erin, embedded, over HTTP. Frank answers.')
    await site.page.locator(`quire-editor ${STATUS}[data-saved="true"]`).waitFor()
  })
})
