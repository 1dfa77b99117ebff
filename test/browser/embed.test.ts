/**
 * Embedding from another origin: a host page served by a second HTTP server
 * loads /v/<version>/embed.js (the <quire-editor> element),
 * /v/<version>/lib/quire-editor.js (mountEditor: the pinned URLs of
 * docs/embedding.md; other browser tests load the "latest" ones) and an
 * /embed/<doc> iframe from Quire; each syncs with a
 * person using the web app, and the element's styles and the host's stay
 * apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserSuite, hostSite, typeAtEnd, waitForText, waitStatus, watchErrors, type HostSite } from './harness.js'
import { readFileSync } from 'node:fs'
import { freePort } from '../../harness/ports.js'

const { version } = JSON.parse(readFileSync(new URL('../../client/editor/package.json', import.meta.url), 'utf8')) as { version: string }

// "localhost" vs "127.0.0.1" and another port: a different origin (and site)
// from Quire's. An open-mode server serves only its own origin unless told
// otherwise: this site is listed (which also lets it frame /embed/<doc>).
const hostPort = await freePort()
const suite = browserSuite({ ALLOWED_ORIGINS: `http://localhost:${hostPort}` })
let host: HostSite
let hostUrl: string

function hostPage (): string {
  const quire = suite.quire
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Someone else's site</title>
<style>
  body { font-family: serif; }
  p { color: rgb(255, 0, 0); }
  .ProseMirror { background: rgb(0, 255, 0); }
  quire-editor { height: 320px; }
</style></head>
<body>
  <p id="host-text">The host's own paragraph.</p>
  <quire-editor server="${quire.wsUrl}" doc="embed/element" user-name="Carol" user-color="#0c8599"></quire-editor>
  <div id="library" style="height: 300px"></div>
  <iframe id="frame" src="${quire.url}/embed/embed/element?name=Erin" style="width: 100%; height: 300px; border: 0"></iframe>
  <script type="module">
    import '${quire.url}/v/${version}/embed.js'
    import { mountEditor } from '${quire.url}/v/${version}/lib/quire-editor.js'
    window.library = mountEditor(document.getElementById('library'), { server: '${quire.wsUrl}', doc: 'embed/library', user: { name: 'Dave' } })
  </script>
</body></html>`
}

beforeAll(async () => {
  host = await hostSite(hostPort, () => hostPage())
  hostUrl = `${host.origin}/`
})
afterAll(async () => {
  await host?.close()
})

describe('embedding in another origin', () => {
  it('the element, the library and the iframe sync with the web app', async () => {
    const [site, alice] = await Promise.all([suite.open(hostUrl), suite.open('/d/embed/element?name=Alice')])
    const element = site.page.locator('quire-editor')
    const elementEditor = element.locator('.ProseMirror')
    const aliceEditor = alice.page.locator('.ProseMirror')
    await waitStatus(site.page, 'connected', undefined, 'quire-editor')
    await waitStatus(alice.page, 'connected')

    // Element → app and app → element.
    await typeAtEnd(site.page, elementEditor, 'Carol writes from the host page.')
    await waitForText(aliceEditor, 'Carol writes from the host page.')
    await typeAtEnd(alice.page, aliceEditor, ' Alice answers from the app.')
    await waitForText(elementEditor, 'Carol writes from the host page.', 'Alice answers from the app.')
    await element.locator('[data-testid="presence-user"]', { hasText: 'Alice' }).waitFor()
    await alice.page.locator('[data-testid="presence-user"]', { hasText: 'Carol' }).waitFor()

    // The iframe page shows the same document.
    const frame = site.page.frameLocator('#frame')
    await waitForText(frame.locator('.ProseMirror'), 'Carol writes from the host page.', 'Alice answers from the app.')

    // mountEditor from the library module, on another document.
    const aliceLibraryPage = await alice.context.newPage()
    watchErrors(aliceLibraryPage, alice.errors)
    await aliceLibraryPage.goto(`${suite.quire.url}/d/embed/library?name=Alice`)
    await typeAtEnd(site.page, site.page.locator('#library .ProseMirror'), 'Dave uses the library.')
    await waitForText(aliceLibraryPage.locator('.ProseMirror'), 'Dave uses the library.')

    // Styles: the host's rules do not reach into the element, ours do not reach the host.
    const inside = await elementEditor.evaluate((el) => ({
      paragraph: getComputedStyle(el.querySelector('p')!).color,
      background: getComputedStyle(el).backgroundColor,
      font: getComputedStyle(el).fontFamily,
    }))
    expect(inside.paragraph).not.toBe('rgb(255, 0, 0)')
    expect(inside.background).not.toBe('rgb(0, 255, 0)')
    expect(inside.font).not.toMatch(/^serif$/)
    const outside = await site.page.locator('#host-text').evaluate((el) => ({ color: getComputedStyle(el).color, font: getComputedStyle(el).fontFamily }))
    expect(outside).toEqual({ color: 'rgb(255, 0, 0)', font: 'serif' })
    // Only the light-DOM library editor adds a stylesheet to the host (all of it under .quire); Tiptap adds none.
    expect(await site.page.evaluate(() => document.querySelectorAll('style:not([data-quire-editor])').length)).toBe(1)
  })
})
