/**
 * Real headless Chromium for the browser tests: one browser per test file,
 * a fresh context (own storage, own network switch) per user, and waits on
 * what the page shows (the selectors of docs/editor.md, "For automated checks"), never on the clock.
 */
import { createServer } from 'node:http'
import { chromium, type Browser, type BrowserContext, type Page, type Frame, type Locator } from 'playwright-core'
import { afterAll, beforeAll, expect } from 'vitest'
import * as Y from 'yjs'
import { findBinary } from '../../harness/binaries.js'
import { startQuire, type QuireProcess } from '../../harness/quire.js'

export async function launchBrowser (): Promise<Browser> {
  return chromium.launch({
    executablePath: findBinary('chromium', 'CHROMIUM_PATH', 'chromium'),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
}

export interface User {
  context: BrowserContext
  page: Page
  /** Uncaught errors and console errors of the page: a test fails if any. */
  errors: string[]
}

/** Console errors the browser itself prints while the network or server is away: expected in these tests. */
const NETWORK_NOISE = /^(WebSocket connection to .* failed|Failed to load resource)/

/** Collect what went wrong in `page` into `errors`. */
export function watchErrors (page: Page, errors: string[]): void {
  page.on('pageerror', (err) => errors.push(err.message))
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !NETWORK_NOISE.test(msg.text())) errors.push(msg.text())
  })
}

/** A new person: a fresh browser context with one page open at `url`, once `ready` (default: Quire's editor) is in it. */
export async function openUser (browser: Browser, url: string, ready = '.ProseMirror'): Promise<User> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 640 } })
  const page = await context.newPage()
  const errors: string[] = []
  watchErrors(page, errors)
  await page.goto(url)
  // Attached, not visible: a refused editor hides its document.
  await page.locator(ready).first().waitFor({ state: 'attached' })
  return { context, page, errors }
}

export interface BrowserSuite {
  /** The Quire process of this file (reassign it after a restart). */
  quire: QuireProcess
  browser: Browser
  /** Everyone opened through open(): their pages must end without errors. */
  users: User[]
  /** A new person opening `path` on the Quire server (or a full URL elsewhere). */
  open (path: string): Promise<User>
}

/** One Quire process (started with `env`) and one browser for the test file that calls this (at top level). */
export function browserSuite (env: Record<string, string> = {}): BrowserSuite {
  const suite = { users: [] as User[] } as BrowserSuite
  suite.open = async (path) => {
    const user = await openUser(suite.browser, /^https?:/.test(path) ? path : `${suite.quire.url}${path}`)
    suite.users.push(user)
    return user
  }
  beforeAll(async () => {
    [suite.quire, suite.browser] = await Promise.all([startQuire(env), launchBrowser()])
  })
  afterAll(async () => {
    await suite.browser?.close()
    await suite.quire?.kill()
    for (const user of suite.users) expect(user.errors).toEqual([])
  })
  return suite
}

export interface HostSite {
  /** `http://localhost:<port>`: another origin (and site) than Quire's `http://127.0.0.1:<port>`. */
  origin: string
  close (): Promise<void>
}

/** Someone else's web site: serves `page(path)` as HTML (404 when it returns undefined). */
export async function hostSite (port: number, page: (path: string) => string | undefined): Promise<HostSite> {
  const server = createServer((req, res) => {
    const html = page(new URL(req.url ?? '/', 'http://localhost').pathname)
    res.writeHead(html === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(html ?? 'not found')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return { origin: `http://localhost:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

type Scope = Page | Frame

const STATUS = '[data-testid="connection-status"]'

/** Resolves once the status element shows `status` (and `saved`, when given). */
export async function waitStatus (scope: Scope, status: 'connecting' | 'connected' | 'offline', saved?: boolean, root = ''): Promise<void> {
  const selector = `${root} ${STATUS}[data-status="${status}"]${saved === undefined ? '' : `[data-saved="${saved}"]`}`.trim()
  await scope.locator(selector).first().waitFor()
}

/** Type at the end of the document. */
export async function typeAtEnd (page: Page, editor: Locator, text: string): Promise<void> {
  await editor.click()
  await page.keyboard.press('Control+End')
  await page.keyboard.type(text)
}

/** Resolves once the editor's text contains every one of `parts` (works in frames and shadow roots). */
export async function waitForText (editor: Locator, ...parts: string[]): Promise<void> {
  for (const part of parts) await editor.filter({ hasText: part }).waitFor()
}

/** The editor's text without other people's caret labels. */
export async function docText (editor: Locator): Promise<string> {
  return editor.evaluate((el) => {
    const copy = el.cloneNode(true) as HTMLElement
    for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
    return copy.textContent ?? ''
  })
}

/** The document as the server holds it (HTTP API, open mode), as plain text. */
export async function serverText (baseUrl: string, doc: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/documents/${encodeURIComponent(doc)}/state`)
  if (res.status !== 200) throw new Error(`GET state: ${res.status}`)
  const ydoc = new Y.Doc()
  Y.applyUpdate(ydoc, new Uint8Array(await res.arrayBuffer()))
  const text = editorText(ydoc)
  ydoc.destroy()
  return text
}

/** The text of the editor's document (Tiptap's fragment "default") in a Y.Doc, without markup. */
export function editorText (ydoc: Y.Doc): string {
  return xmlText(ydoc.getXmlFragment('default'))
}

function xmlText (node: Y.XmlFragment | Y.XmlElement | Y.XmlText): string {
  if (node instanceof Y.XmlText) return node.toString().replace(/<[^>]+>/g, '')
  return node.toArray().map((child) => xmlText(child as Y.XmlElement | Y.XmlText)).join('')
}

/** Waits until every write IndexedDB has started for the database `dbName` is committed (a later read transaction sees them); returns its update count. */
export async function localCopyWritten (page: Page, dbName: string): Promise<number> {
  return page.evaluate((name) => new Promise<number>((resolve, reject) => {
    const req = indexedDB.open(name)
    req.onerror = () => reject(req.error)
    req.onsuccess = () => {
      const count = req.result.transaction('updates', 'readonly').objectStore('updates').count()
      count.onsuccess = () => { resolve(count.result); req.result.close() }
      count.onerror = () => reject(count.error)
    }
  }), dbName)
}

/** The names of the IndexedDB databases of the page's origin. */
export async function databaseNames (page: Page): Promise<string[]> {
  return page.evaluate(async () => (await indexedDB.databases()).map((db) => db.name ?? ''))
}
