/**
 * What a user installs (docs/server-library.md): `npm pack` @quire/server,
 * install the tarball into a fresh copy of examples/express outside the
 * repository, start the Express app, and check that Quire, mounted under
 * /collab, refuses an upgrade without the app's session cookie and syncs a
 * document between stock y-websocket clients that carry it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { installExample, packPackage, removeExample, tarballFiles } from '../../harness/packages.js'
import { tempDir } from '../../harness/paths.js'
import { freePort } from '../../harness/ports.js'
import { spawnChild, stopChild, type Child } from '../../harness/processes.js'
import { CLOSE } from '../../common/close-codes.js'
import { openRaw } from '../helpers/raw-socket.js'
import { whenDoc, whenSynced, type TestClient } from '../helpers/clients.js'
import { launchBrowser, typeAtEnd, waitStatus, watchErrors } from '../browser/harness.js'

/** npm pack and npm install on a shared two-core machine (the registry cache makes it quick on a second run). */
const INSTALL_MS = 240_000

let dir = ''
let packs = ''
let tarball = ''
let app: Child | null = null
let base = ''
const clients: TestClient[] = []

beforeAll(async () => {
  packs = tempDir('pack')
  tarball = await packPackage('.', packs)
  dir = await installExample('express', [tarball])
  const port = await freePort()
  app = spawnChild('examples/express', process.execPath, ['server.js'], {
    cwd: dir,
    env: { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: tempDir('express-data'), SESSION_SECRET: 'a test secret of some length', LOG_LEVEL: 'warn' },
  })
  await app.waitForLine('example listening')
  base = `127.0.0.1:${port}`
}, INSTALL_MS)

afterAll(async () => {
  for (const c of clients.splice(0)) c.destroy()
  if (app) await stopChild(app)
  if (dir) removeExample(dir)
  if (packs) rmSync(packs, { recursive: true, force: true })
})

/** A stock y-websocket client sending `cookie` with its upgrade, as a browser would. */
function cookieClient (doc: string, cookie: string): TestClient {
  const ydoc = new Y.Doc()
  const Socket = class extends WebSocket {
    constructor (url: string, protocols?: string | string[]) { super(url, protocols, { headers: { cookie } }) }
  }
  const provider = new WebsocketProvider(`ws://${base}/collab`, doc, ydoc, { WebSocketPolyfill: Socket as unknown as typeof globalThis.WebSocket, disableBc: true })
  const client = { doc: ydoc, provider, text: ydoc.getText('t'), destroy: () => { provider.destroy(); ydoc.destroy() } }
  clients.push(client)
  return client
}

describe('examples/express with @quire/server from its tarball', () => {
  it('packs what a user needs and nothing of the repository\'s own', async () => {
    const files = await tarballFiles(tarball)
    for (const needed of ['package/dist/server/cli.js', 'package/dist/server/library/index.js', 'package/dist/server/library/index.d.ts', 'package/dist/client/embed.js', 'package/README.md', 'package/LICENSE']) {
      expect(files).toContain(needed)
    }
    expect(files.filter((f) => /^package\/(test|bench|harness|examples|server|client|common)\/|^package\/dist\/(bench|harness)\/|\.map$/.test(f))).toEqual([])
  })

  it('runs `npx quire` from the installed package, configured by the environment', async () => {
    const port = await freePort()
    const cli = spawnChild('npx quire', join(dir, 'node_modules', '.bin', 'quire'), [], {
      cwd: dir,
      env: { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: tempDir('npx-quire'), DRAIN_GRACE_MS: '0', DRAIN_SPREAD_MS: '0' },
    })
    try {
      await cli.waitForLine('"quire listening"')
      const res = await fetch(`http://127.0.0.1:${port}/healthz`)
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('ok\n')
    } finally {
      await stopChild(cli)
    }
  })

  it('serves the host app and Quire under /collab side by side', async () => {
    expect(await (await fetch(`http://${base}/collab/healthz`)).text()).toBe('ok\n')
    expect(await (await fetch(`http://${base}/`)).text()).toContain('<form action="/login">')
    const embed = await fetch(`http://${base}/collab/embed.js`)
    expect(embed.status).toBe(200)
    await embed.body?.cancel()
  })

  it('refuses an upgrade without its session cookie, or with a forged one', async () => {
    const bare = await openRaw(`ws://${base}/collab/notes/welcome`)
    expect((await bare.whenClosed('an upgrade without the cookie')).code).toBe(CLOSE.unauthorized)
    const forged = await openRaw(`ws://${base}/collab/notes/welcome`, { cookie: 'session=s%3Amallory.forged' })
    expect((await forged.whenClosed('an upgrade with a cookie the app did not sign')).code).toBe(CLOSE.unauthorized)
  })

  it('syncs a document between clients that signed in at /login', async () => {
    const cookieOf = async (name: string): Promise<string> => {
      const res = await fetch(`http://${base}/login?name=${name}`, { redirect: 'manual' })
      expect(res.status).toBe(302)
      const setCookie = res.headers.get('set-cookie') ?? ''
      expect(setCookie).toMatch(/^session=/)
      return setCookie.split(';')[0]
    }
    const ann = cookieClient('notes/welcome', await cookieOf('ann'))
    const bob = cookieClient('notes/welcome', await cookieOf('bob'))
    await Promise.all([whenSynced(ann, 'ann synced through the example'), whenSynced(bob, 'bob synced through the example')])
    ann.text.insert(0, 'hello from ann')
    await whenDoc(bob.doc, () => bob.text.toString() === 'hello from ann', 'bob to see ann\'s edit through the example')
    // The page signed-in users get loads the editor from Quire under the prefix.
    const page = await (await fetch(`http://${base}/`, { headers: { cookie: await cookieOf('cat') } })).text()
    expect(page).toContain('/collab/embed.js')
    expect(page).toContain('Signed in as cat')
  })

  it('signs a browser in, and its page edits with the element Quire serves under the prefix', async () => {
    const browser = await launchBrowser()
    try {
      const page = await (await browser.newContext()).newPage()
      const errors: string[] = []
      watchErrors(page, errors)
      await page.goto(`http://${base}/login?name=dana`)
      await waitStatus(page, 'connected', undefined, 'quire-editor')
      const watcher = cookieClient('notes/browser', (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; '))
      await whenSynced(watcher, 'a watcher with dana\'s cookie')
      await page.evaluate(() => document.querySelector('quire-editor')?.setAttribute('doc', 'notes/browser'))
      await waitStatus(page, 'connected', undefined, 'quire-editor')
      await typeAtEnd(page, page.locator('quire-editor .ProseMirror'), 'typed in the browser')
      const fragment = watcher.doc.getXmlFragment('default')
      await whenDoc(watcher.doc, () => fragment.toString().includes('typed in the browser'), 'the browser\'s edit to reach a stock client')
      expect(errors).toEqual([])
    } finally {
      await browser.close()
    }
  })
})
