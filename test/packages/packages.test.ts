/**
 * What a user installs (docs/embedding.md; CONTRIBUTING.md, "Packages"):
 * every workspace package is packed once with `npm pack`; each tarball
 * holds only what a user needs; the tarballs are installed into fresh
 * copies of examples/plain-html and examples/codemirror outside the
 * repository (the rest from the registry), built with their own Vite,
 * served, and driven in Chromium against a Quire server: the plain page's
 * `<quire-editor>` and the web app edit one document together; two
 * CodeMirror pages and a stock y-websocket client share one Y.Text; and the
 * editor package imports in plain Node, as a server-side-rendering build does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { installExample, packPackage, removeExample, runIn, buildExample, serveFolder, tarballFiles, workspacePackages, type StaticSite } from '../../harness/packages.js'
import { tempDir, fromRoot } from '../../harness/paths.js'
import { startQuire, type QuireProcess } from '../../harness/quire.js'
import { connectClient, whenDoc, whenSynced, type TestClient } from '../helpers/clients.js'
import { launchBrowser, openUser, typeAtEnd, waitForText, waitStatus, type User } from '../browser/harness.js'

/** npm install and two Vite builds on a shared two-core machine. */
const SETUP_MS = 300_000

interface Installed { dir: string, site: StaticSite }

const tarballs = new Map<string, string>()
const installed = new Map<string, Installed>()
let packs: string
let quire: QuireProcess
let browser: Browser
const users: User[] = []
const clients: TestClient[] = []

async function open (url: string, ready?: string): Promise<User> {
  const user = await openUser(browser, url, ready)
  users.push(user)
  return user
}

beforeAll(async () => {
  packs = tempDir('packs')
  for (const dir of workspacePackages()) tarballs.set(dir, await packPackage(dir, packs))
  const tarballsOf = (...dirs: string[]): string[] => dirs.map((d) => tarballs.get(d)!)
  const [plain, codemirror] = await Promise.all([
    installExample('plain-html', tarballsOf('common', 'client/provider', 'client/editor')),
    installExample('codemirror', tarballsOf('common', 'client/provider')),
  ])
  // Served before they are built: Quire must allow their origins, and the builds must know Quire's address.
  for (const [name, dir] of [['plain-html', plain], ['codemirror', codemirror]] as const) {
    installed.set(name, { dir, site: await serveFolder(join(dir, 'dist')) })
  }
  ;[quire, browser] = await Promise.all([
    startQuire({ ALLOWED_ORIGINS: [...installed.values()].map((i) => i.site.url).join(',') }),
    launchBrowser(),
  ])
  for (const { dir } of installed.values()) await buildExample(dir, { VITE_QUIRE_SERVER: quire.wsUrl })
}, SETUP_MS)

afterAll(async () => {
  for (const c of clients) c.destroy()
  await browser?.close()
  await quire?.kill()
  for (const { dir, site } of installed.values()) {
    await site.close()
    removeExample(dir)
  }
  if (packs) rmSync(packs, { recursive: true, force: true })
  for (const user of users) expect(user.errors).toEqual([])
})

describe('the packed packages', () => {
  it('each tarball holds only what a user needs: built JS, type declarations, styles, README, LICENSE', async () => {
    expect([...tarballs.keys()]).toEqual(expect.arrayContaining(['common', 'client/provider', 'client/editor']))
    for (const [dir, tarball] of tarballs) {
      const files = await tarballFiles(tarball)
      expect(files, dir).toEqual(expect.arrayContaining(['package/package.json', 'package/README.md', 'package/LICENSE', 'package/dist/index.js', 'package/dist/index.d.ts']))
      const extra = files.filter((f) => !/^package\/(package\.json|README\.md|LICENSE|dist\/[\w./-]+\.(js|d\.ts|css))$/.test(f))
      expect(extra, dir).toEqual([])
      expect(files.filter((f) => /\.test\.|\/test\/|\/src\//.test(f)), dir).toEqual([])
      // Every file `exports` names is in the tarball.
      const manifest = JSON.parse(readFileSync(fromRoot(dir, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> }
      const targets = Object.values(manifest.exports).flatMap((t) => typeof t === 'string' ? [t] : Object.values(t))
      expect(targets.filter((t) => !files.includes(`package/${t.replace(/^\.\//, '')}`)), dir).toEqual([])
    }
  })

  it('@quire/editor and @quire/provider import in plain Node (no DOM), as server-side rendering does', async () => {
    const { dir } = installed.get('plain-html')!
    const script = `
      if (typeof HTMLElement !== 'undefined' || typeof customElements !== 'undefined') throw new Error('this Node has a DOM')
      const editor = await import('@quire/editor')
      const provider = await import('@quire/provider')
      console.log(JSON.stringify({ define: typeof editor.defineQuireEditor, mount: typeof editor.mountEditor, provider: typeof provider.QuireProvider }))`
    const out = await runIn(dir, process.execPath, ['--input-type=module', '-e', script])
    expect(JSON.parse(out)).toEqual({ define: 'function', mount: 'function', provider: 'function' })
  })
})

/**
 * A TypeScript user's file against the installed packages' declarations.
 * Each `@ts-expect-error` fails the check if the type it probes is `any`
 * (a declaration that did not resolve), so real types are proved, not assumed.
 */
const TYPED_USE = `
import { defineQuireEditor, mountEditor, type EditorStatus, type QuireEditorElement } from '@quire/editor'
import { QuireProvider, clearUserData } from '@quire/provider'
import * as Y from 'yjs'

const el = document.querySelector('quire-editor')!
el.addEventListener('quire-status', (e) => {
  const saved: boolean = e.detail.saved
  // @ts-expect-error the event's detail is an EditorStatus
  const wrong: string = e.detail.saved
  void saved; void wrong
})
const status: EditorStatus | null = el.status
const Element = defineQuireEditor('my-editor')
const made: QuireEditorElement = new Element() as QuireEditorElement
const mounted = mountEditor(document.body, { server: 'wss://quire.example.com', doc: 'team/notes', styles: false })
mounted.editor.commands.focus()
mounted.editor.chain().focus().toggleBold().toggleHeading({ level: 2 }).run()
// @ts-expect-error the editor's commands are typed (StarterKit's included), not any
mounted.editor.commands.noSuchCommand()
const ydoc: Y.Doc = mounted.ydoc
// @ts-expect-error ydoc is a Y.Doc of the app's own yjs
const notADoc: string = mounted.ydoc
const provider = new QuireProvider({ server: 'wss://quire.example.com', doc: 'code', ydoc: new Y.Doc() })
provider.on('saved', (saved) => { const b: boolean = saved; void b })
// @ts-expect-error the provider's events are typed
provider.on('no-such-event', () => {})
void clearUserData({ server: 'wss://quire.example.com', token: null })
export { status, made, ydoc, notADoc }
`

describe('the examples, installed from the tarballs', () => {
  it('a TypeScript app gets real types from the installed declarations (typed events, its own Y.Doc)', async () => {
    const { dir } = installed.get('plain-html')!
    writeFileSync(join(dir, 'typed-use.ts'), TYPED_USE)
    const tsc = fromRoot('node_modules', 'typescript', 'bin', 'tsc')
    await runIn(dir, process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', '--lib', 'es2022,dom,dom.iterable', 'typed-use.ts'])
  })

  it('plain-html: the <quire-editor> of a Vite page and the web app edit one document', async () => {
    const { site } = installed.get('plain-html')!
    const [page, app] = await Promise.all([open(`${site.url}/`), open(`${quire.url}/d/examples/plain?name=Alice`)])
    await waitStatus(page.page, 'connected', undefined, 'quire-editor')
    await waitStatus(app.page, 'connected')
    const pageEditor = page.page.locator('quire-editor .ProseMirror')
    const appEditor = app.page.locator('.ProseMirror')

    await typeAtEnd(page.page, pageEditor, 'Written in the plain page.')
    await waitForText(appEditor, 'Written in the plain page.')
    await typeAtEnd(app.page, appEditor, ' Answered from the app.')
    await waitForText(pageEditor, 'Written in the plain page.', 'Answered from the app.')
    await app.page.locator('[data-testid="presence-user"]', { hasText: 'Guest' }).waitFor()
    // The page's own listener of the typed quire-status event.
    await page.page.locator('#saved', { hasText: 'Saved' }).waitFor()
    // The page's theme reaches into the element's shadow root; the app keeps the default.
    const accent = (scope: typeof pageEditor): Promise<string> => scope.evaluate((el) => getComputedStyle(el).getPropertyValue('--quire-accent').trim())
    expect(await accent(page.page.locator('quire-editor .quire'))).toBe('#0c8599')
    expect(await accent(app.page.locator('.quire').first())).toBe('#3b5bdb')
  })

  it('codemirror: two CodeMirror pages and a stock y-websocket client share one Y.Text through Quire', async () => {
    const { site } = installed.get('codemirror')!
    const doc = 'examples/code'
    const [ann, ben] = await Promise.all([open(`${site.url}/?name=Ann&doc=${doc}`, '.cm-content'), open(`${site.url}/?name=Ben&doc=${doc}`, '.cm-content')])
    for (const u of [ann, ben]) await u.page.locator('#status', { hasText: 'connected' }).waitFor()
    const stock = connectClient(quire.wsUrl, doc)
    clients.push(stock)
    await whenSynced(stock, 'the stock client synced')
    const text = stock.doc.getText('codemirror')

    await ann.page.locator('.cm-content').click()
    await ann.page.keyboard.type('const answer = 42')
    await ben.page.locator('.cm-content', { hasText: 'const answer = 42' }).waitFor()
    await whenDoc(stock.doc, () => text.toString().includes('const answer = 42'), 'the stock client sees the CodeMirror edit')

    text.insert(0, '// from y-websocket\n')
    for (const u of [ann, ben]) await u.page.locator('.cm-content', { hasText: '// from y-websocket' }).waitFor()
    // Presence through Quire's awareness relay: Ben sees Ann's caret label.
    await ben.page.locator('.cm-ySelectionInfo', { hasText: 'Ann' }).waitFor({ state: 'attached' })
    await ann.page.locator('#saved', { hasText: 'saved' }).waitFor()
  })
})
