/**
 * What a React user installs (issue 12, docs/embedding-react.md): the packed
 * tarballs of @quire/common, provider, editor and react, installed into a
 * fresh copy of examples/react-vite outside the repository, built with Vite
 * (React's development build, so StrictMode mounts everything twice), served
 * by the example's own backend that signs people in and mints Quire tokens,
 * against a Quire process with AUTH_SECRET. In Chromium: the React app and
 * the web app edit one document both ways, and the page holds one socket
 * although StrictMode mounted every component twice.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page, WebSocket as PageSocket } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromRoot, tempDir } from '../../harness/paths.js'
import { buildExample, installExample, packPackage, removeExample, runIn, tarballFiles } from '../../harness/packages.js'
import { freePort } from '../../harness/ports.js'
import { killChild, spawnChild, type Child } from '../../harness/processes.js'
import { startQuire, type QuireProcess } from '../../harness/quire.js'
import { launchBrowser, typeAtEnd, waitForText, waitStatus, watchErrors } from '../browser/harness.js'
import { readMetrics } from '../helpers/metrics.js'
import { mintToken, TEST_SECRET } from '../helpers/tokens.js'

/** The packages a React app pulls in, dependencies first. */
const PACKAGES = ['common', 'client/provider', 'client/editor', 'client/react']
/** npm install and a Vite build on a shared two-core machine. */
const SETUP_MS = 300_000

let quire: QuireProcess
let backend: Child
let browser: Browser
let appUrl: string
/** The installed copy of the example. */
let app: string
/** The tarball of @quire/react. */
let reactTarball: string
let packs: string
const errors: string[] = []

beforeAll(async () => {
  packs = tempDir('packs')
  const tarballs: string[] = []
  for (const dir of PACKAGES) tarballs.push(await packPackage(fromRoot(dir), packs))
  reactTarball = tarballs[tarballs.length - 1]
  const [installed, started, port] = await Promise.all([installExample('react-vite', tarballs), startQuire({ AUTH_SECRET: TEST_SECRET }), freePort()])
  app = installed
  quire = started
  // React's development build: StrictMode double-invokes effects only there.
  await buildExample(app, { NODE_ENV: 'development' })
  backend = spawnChild('react-vite backend', process.execPath, ['server.mjs'], {
    cwd: app,
    env: { PORT: String(port), QUIRE_SECRET: TEST_SECRET, QUIRE_SERVER: quire.wsUrl },
  })
  await backend.waitForLine('react-vite example on')
  appUrl = `http://127.0.0.1:${port}`
  browser = await launchBrowser()
}, SETUP_MS)

afterAll(async () => {
  await browser?.close()
  if (backend) await killChild(backend)
  await quire?.kill()
  if (app) removeExample(app)
  if (packs) rmSync(packs, { recursive: true, force: true })
  expect(errors).toEqual([])
})

/** A page that counts the WebSockets it opens and the app's session look-ups (one per mount of <App>). */
async function openCounted (url: string): Promise<{ page: Page, sockets: PageSocket[], sessionLookups: () => number }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } })
  const page = await context.newPage()
  watchErrors(page, errors)
  const sockets: PageSocket[] = []
  page.on('websocket', (socket) => sockets.push(socket))
  let lookups = 0
  page.on('request', (req) => { if (req.method() === 'GET' && new URL(req.url()).pathname === '/api/session') lookups++ })
  await page.goto(url)
  return { page, sockets, sessionLookups: () => lookups }
}

describe('examples/react-vite, installed from the packed tarballs', () => {
  it('signs in, syncs with the web app both ways, and holds exactly one socket under StrictMode', async () => {
    const doc = 'react/shared'
    const { page: ada, sockets, sessionLookups } = await openCounted(`${appUrl}/?doc=${encodeURIComponent(doc)}`)
    await ada.getByLabel('Your name').fill('Ada')
    await ada.getByRole('button', { name: 'Sign in' }).click()
    const adaEditor = ada.locator('.ProseMirror')
    await waitStatus(ada, 'connected')
    await ada.locator('[data-testid="app-header"][data-status="connected"]').waitFor()

    // The web app, signed in as Bob with a token minted the same way.
    const bobToken = await mintToken({ sub: 'bob', name: 'Bob', allowedDocumentNames: ['react/*'] })
    const bobContext = await browser.newContext()
    const bob = await bobContext.newPage()
    watchErrors(bob, errors)
    await bob.goto(`${quire.url}/d/${doc}?token=${bobToken}`)
    const bobEditor = bob.locator('.ProseMirror')
    await waitStatus(bob, 'connected')

    await typeAtEnd(ada, adaEditor, 'Ada writes in React.')
    await waitForText(bobEditor, 'Ada writes in React.')
    await typeAtEnd(bob, bobEditor, ' Bob answers from the web app.')
    await waitForText(adaEditor, 'Ada writes in React.', 'Bob answers from the web app.')
    // The hooks in the app's own header follow the same provider.
    await ada.locator('[data-testid="app-header"][data-saved="true"]', { hasText: 'with Bob' }).waitFor()
    await waitStatus(ada, 'connected', true)

    // StrictMode is on (React's development build ran <App>'s mount effect twice: two look-ups),
    // the editor and the header's hooks share one provider, and the page opened one socket, still open.
    expect(sessionLookups()).toBe(2)
    expect(await ada.locator('.quire').count()).toBe(1)
    expect(sockets.map((s) => new URL(s.url()).host)).toEqual([`127.0.0.1:${quire.port}`])
    expect(sockets[0].isClosed()).toBe(false)
    // And the server sees two connections: Ada's one and Bob's.
    expect((await readMetrics(quire.url)).get('quire_connections')).toBe(2)
  })
})

describe('@quire/react in Node', () => {
  it('the tarball holds the built modules, their types, the README and the licence, nothing else', async () => {
    const files = await tarballFiles(reactTarball)
    expect(files.filter((f) => !/^package\/dist\/[\w-]+\.(js|d\.ts)$/.test(f)).sort()).toEqual(['package/LICENSE', 'package/README.md', 'package/package.json'])
    expect(files).toContain('package/dist/index.d.ts')
  })

  it('the README\'s examples type-check in the installed app, against the packed declarations', async () => {
    const readme = readFileSync(fromRoot('client/react/README.md'), 'utf8')
    const examples = [...readme.matchAll(/```tsx\n([\s\S]*?)```/g)].map((m) => m[1])
    expect(examples.length).toBe(2)
    examples.forEach((code, i) => writeFileSync(join(app, 'src', `readme-${i}.tsx`), code))
    await runIn(app, process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'])
  })

  it('renders <QuireEditor> to a string: the packages import without a DOM and open nothing', async () => {
    const script = `
      import { createElement } from 'react'
      import { renderToString } from 'react-dom/server'
      import { QuireEditor } from '@quire/react'
      console.log(renderToString(createElement(QuireEditor, { server: 'ws://127.0.0.1:9', doc: 'ssr/page', className: 'notes' })))`
    const out = await runIn(app, process.execPath, ['--input-type=module', '-e', script])
    expect(out).toContain('<div class="notes" data-quire-doc="ssr/page"></div>')
  })
})
