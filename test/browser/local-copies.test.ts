/**
 * What one browser keeps belongs to the person signed in (AUTH_SECRET on):
 * a page with no token or someone else's never shows another person's
 * cached document and cannot edit it; 4401 locks and hides the editor at
 * once but keeps the copy until a fresh token connects; 4403 locks it,
 * empties it and deletes the copy (never the server's document); signOut()
 * deletes every copy of that person in every tab and nobody else's; tabs of
 * different people on one document do not sync through the browser; and the
 * name others see is the token's.
 */
import { createServer, type Server } from 'node:http'
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { identityOfSub, localKeys, scopeOf } from '../../client/provider/src/local-keys.js'
import { mintToken, nowSeconds, TEST_SECRET, type TokenClaims } from '../helpers/tokens.js'
import { waitFor } from '../helpers/wait.js'
import { browserSuite, databaseNames, docText, localCopyWritten, typeAtEnd, waitForText, waitStatus, watchErrors, type User } from './harness.js'

const suite = browserSuite({ AUTH_SECRET: TEST_SECRET })

const ALICE: TokenClaims = { sub: 'alice', name: 'Alice Example', allowedDocumentNames: ['private/*', 'shared/*'] }
const BOB: TokenClaims = { sub: 'bob', name: 'Bob Example', allowedDocumentNames: ['shared/*', 'bob/*'] }

/** The database a person's copy of `doc` lives in. */
const database = (sub: string, doc: string): string => localKeys(suite.quire.wsUrl, identityOfSub(sub), doc).database

// A host site (another origin) with the element or the library, for the parts the web app does not expose.
let host: Server
let hostUrl: string

function hostPage (): string {
  const { url, wsUrl } = suite.quire
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Host</title></head>
<body>
  <div id="editor" style="height: 300px"></div>
  <script type="module">
    import { mountEditor } from '${url}/lib/quire-editor.js'
    import '${url}/embed.js'
    const params = new URLSearchParams(location.search)
    window.tokens = { current: params.get('token') }
    if (params.get('mode') === 'library') {
      window.mounted = mountEditor(document.getElementById('editor'), { server: '${wsUrl}', doc: params.get('doc'), getToken: () => window.tokens.current })
    } else {
      const element = document.createElement('quire-editor')
      element.setAttribute('server', '${wsUrl}')
      element.setAttribute('doc', params.get('doc'))
      element.setAttribute('token', params.get('token'))
      element.style.height = '300px'
      document.getElementById('editor').append(element)
    }
  </script>
</body></html>`
}

beforeAll(async () => {
  host = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(hostPage())
  })
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve))
  const address = host.address()
  hostUrl = `http://localhost:${typeof address === 'object' && address ? address.port : 0}/`
})
afterAll(async () => {
  await new Promise((resolve) => host?.close(resolve))
})

/** Another tab in the same browser (same storage, same BroadcastChannels) as `user`. */
async function openTab (user: User, url: string): Promise<Page> {
  const page = await user.context.newPage()
  watchErrors(page, user.errors)
  await page.goto(/^https?:/.test(url) ? url : `${suite.quire.url}${url}`)
  await page.locator('.ProseMirror').first().waitFor({ state: 'attached' })
  return page
}

/** Records every text the editor of `page` ever shows, from before the page's own scripts run. */
async function recordShownText (page: Page): Promise<void> {
  await page.addInitScript(() => {
    const shown: string[] = []
    ;(window as unknown as { shown: string[] }).shown = shown
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('.ProseMirror')) if (el.textContent) shown.push(el.textContent)
    }).observe(document, { subtree: true, childList: true, characterData: true })
  })
}

const shownText = (page: Page): Promise<string> => page.evaluate(() => (window as unknown as { shown: string[] }).shown.join('\n'))

const statusOf = (page: Page): Locator => page.locator('[data-testid="connection-status"]')

/** Registers a recorder of what the library editor looked like when each connection closed and when the provider stopped. */
async function recordCloses (page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { mounted: import('@quire/editor').MountedEditor, seen: unknown[] }
    w.seen = []
    const snapshot = (event: string, code: number): void => {
      // The app's own disconnect() is not what this records.
      if (code !== 1000) w.seen.push({ event, code, editable: w.mounted.editor.isEditable, text: w.mounted.editor.getText() })
    }
    w.mounted.provider.on('connection-close', ({ code }) => snapshot('close', code))
    w.mounted.provider.on('stopped', ({ code }) => snapshot('stopped', code))
  })
}

/** In the library host page: use `token` from now on and connect again. */
async function reconnectWith (page: Page, token: string): Promise<void> {
  await page.evaluate((t) => {
    const w = window as unknown as { mounted: import('@quire/editor').MountedEditor, tokens: { current: string } }
    w.tokens.current = t
    w.mounted.provider.disconnect()
    w.mounted.provider.connect()
  }, token)
}

describe('local copies belong to a user', () => {
  it('a page with no token, or with another user\'s, never shows a cached document nor edits it', async () => {
    const alice = await mintToken(ALICE)
    const a = await suite.open(`/d/private/diary?token=${alice}`)
    const editor = a.page.locator('.ProseMirror')
    await waitStatus(a.page, 'connected')
    await typeAtEnd(a.page, editor, 'Dear diary.')
    await waitStatus(a.page, 'connected', true)
    // An edit only this browser has.
    await a.context.setOffline(true)
    await waitStatus(a.page, 'offline')
    await typeAtEnd(a.page, editor, ' Offline secret.')
    expect(await localCopyWritten(a.page, database('alice', 'private/diary'))).toBeGreaterThan(0)
    await a.page.close()
    await a.context.setOffline(false)

    // The same browser and origin: no token (4401), then Bob's token without access to it (4403).
    const bob = await mintToken(BOB)
    for (const { query, problem } of [
      { query: '', problem: 'Your sign-in is missing or has expired.' },
      { query: `?token=${bob}`, problem: 'You do not have access to this document.' },
    ]) {
      const page = await a.context.newPage()
      watchErrors(page, a.errors)
      await recordShownText(page)
      await page.goto(`${suite.quire.url}/d/private/diary${query}`)
      await page.locator('.quire-problem', { hasText: problem }).waitFor()
      await page.locator('.ProseMirror[contenteditable="false"]').waitFor({ state: 'attached' })
      expect(await statusOf(page).getAttribute('data-editable')).toBe('false')
      expect(await page.locator('.ProseMirror').isHidden()).toBe(true)
      // Never, not even for a moment before the refusal.
      expect(await shownText(page)).not.toMatch(/diary|secret/i)
      expect(await docText(page.locator('.ProseMirror'))).toBe('')
      // Nor does it take Alice's name (the web app keeps nothing of a token's user).
      expect(await page.locator('[data-testid="presence-user"][data-self="true"]').textContent()).not.toContain('Alice')
      await page.close()
    }

    // Alice's copy is still there, unsent edit included: back with her token, it reaches the server.
    const again = await openTab(a, `/d/private/diary?token=${alice}`)
    await waitStatus(again, 'connected', true)
    await waitForText(again.locator('.ProseMirror'), 'Dear diary.', 'Offline secret.')
    expect(await statusOf(again).getAttribute('data-editable')).toBe('true')
  })

  it('4401: read-only and hidden at once, the copy kept, back when a fresh token connects', async () => {
    const valid = await mintToken(ALICE)
    const { page } = await suite.open(`${hostUrl}?mode=library&doc=private/relogin&token=${valid}`)
    const editor = page.locator('#editor .ProseMirror')
    await waitStatus(page, 'connected')
    await typeAtEnd(page, editor, 'Before the session ended.')
    await waitStatus(page, 'connected', true)

    await recordCloses(page)
    await reconnectWith(page, await mintToken(ALICE, { expiresAt: nowSeconds() - 60 }))
    await page.locator('.quire-problem', { hasText: 'Your sign-in is missing or has expired.' }).waitFor()
    // The editor was read-only by the time anyone heard of the close (the retry with getToken included).
    const seen = await page.evaluate(() => (window as unknown as { seen: Array<{ event: string, code: number, editable: boolean }> }).seen)
    expect(seen.length).toBeGreaterThanOrEqual(2)
    for (const s of seen) expect(s).toMatchObject({ code: 4401, editable: false })
    expect(await editor.isHidden()).toBe(true)
    expect(await databaseNames(page)).toContain(database('alice', 'private/relogin'))

    await reconnectWith(page, valid)
    await page.locator('#editor .ProseMirror[contenteditable="true"]').waitFor()
    await waitForText(editor, 'Before the session ended.')
    await typeAtEnd(page, editor, ' And after.')
    await waitStatus(page, 'connected', true)
  })

  it('4403: read-only and emptied at once, the copy deleted, the document on the server untouched', async () => {
    const valid = await mintToken(ALICE)
    const a = await suite.open(`${hostUrl}?mode=library&doc=private/revoked&token=${valid}`)
    const editor = a.page.locator('#editor .ProseMirror')
    await waitStatus(a.page, 'connected')
    await typeAtEnd(a.page, editor, 'Soon out of reach.')
    await waitStatus(a.page, 'connected', true)
    expect(await databaseNames(a.page)).toContain(database('alice', 'private/revoked'))

    await recordCloses(a.page)
    await reconnectWith(a.page, await mintToken({ ...ALICE, allowedDocumentNames: ['other/*'] }))
    await a.page.locator('.quire-problem', { hasText: 'You do not have access to this document.' }).waitFor()
    const seen = await a.page.evaluate(() => (window as unknown as { seen: unknown[] }).seen)
    expect(seen).toEqual([
      { event: 'close', code: 4403, editable: false, text: 'Soon out of reach.' },
      { event: 'stopped', code: 4403, editable: false, text: '' },
    ])
    expect(await docText(editor)).toBe('')
    await waitFor(() => databaseNames(a.page), (names) => !names.includes(database('alice', 'private/revoked')), 'the copy to be deleted')

    // Emptying was local: with access again, the document is all there.
    const back = await openTab(a, `${hostUrl}?mode=library&doc=private/revoked&token=${valid}`)
    await waitStatus(back, 'connected', true)
    await waitForText(back.locator('#editor .ProseMirror'), 'Soon out of reach.')
    // The emptied editor stays empty and never connects again.
    expect(await docText(editor)).toBe('')
    expect(await a.page.evaluate(() => {
      const w = window as unknown as { mounted: import('@quire/editor').MountedEditor }
      w.mounted.provider.connect()
      return w.mounted.provider.status
    })).toBe('offline')
  })

  it('signOut() deletes every copy of that user on that server, in every tab, and no one else\'s', async () => {
    const [alice, bob] = await Promise.all([mintToken(ALICE), mintToken(BOB)])
    const element = (doc: string, token: string): string => `${hostUrl}?mode=element&doc=${doc}&token=${token}`
    const one = await suite.open(element('private/one', alice))
    const two = await openTab(one, element('private/two', alice))
    const bobs = await openTab(one, element('bob/notes', bob))
    for (const [page, text] of [[one.page, 'Alice one.'], [two, 'Alice two.'], [bobs, 'Bob notes.']] as const) {
      await waitStatus(page, 'connected')
      await typeAtEnd(page, page.locator('quire-editor .ProseMirror'), text)
      await waitStatus(page, 'connected', true)
    }
    const alices = [database('alice', 'private/one'), database('alice', 'private/two')]
    expect(await databaseNames(one.page)).toEqual(expect.arrayContaining([...alices, database('bob', 'bob/notes')]))

    await one.page.evaluate(() => (document.querySelector('quire-editor') as unknown as { signOut (): Promise<void> }).signOut())
    const names = await waitFor(() => databaseNames(one.page), (list) => !list.some((n) => alices.includes(n)), 'Alice\'s copies to be deleted')
    expect(names).toContain(database('bob', 'bob/notes'))
    const scope = scopeOf(suite.quire.wsUrl, identityOfSub('alice'))
    expect(await one.page.evaluate((s) => localStorage.getItem(`quire:copies:${s}`), scope)).toBeNull()

    // Both of Alice's editors are empty, read-only, and say why; Bob's goes on.
    for (const page of [one.page, two]) {
      await statusOf(page).filter({ hasText: 'Signed out' }).waitFor()
      expect(await statusOf(page).getAttribute('data-editable')).toBe('false')
      expect(await docText(page.locator('quire-editor .ProseMirror'))).toBe('')
    }
    await typeAtEnd(bobs, bobs.locator('quire-editor .ProseMirror'), ' Still here.')
    await waitStatus(bobs, 'connected', true)

    // Alice signs in again, online: her document comes from the server, and she can edit.
    const again = await openTab(one, element('private/one', alice))
    await waitStatus(again, 'connected', true)
    await waitForText(again.locator('quire-editor .ProseMirror'), 'Alice one.')
    await typeAtEnd(again, again.locator('quire-editor .ProseMirror'), ' Back again.')
    await waitStatus(again, 'connected', true)
    expect(await databaseNames(again)).toContain(database('alice', 'private/one'))
  })

  it('the web app\'s Sign out deletes the signed-in user\'s copies', async () => {
    const alice = await mintToken(ALICE)
    const { page } = await suite.open(`/d/private/app?token=${alice}`)
    await waitStatus(page, 'connected')
    await typeAtEnd(page, page.locator('.ProseMirror'), 'In the app.')
    await waitStatus(page, 'connected', true)
    expect(await databaseNames(page)).toContain(database('alice', 'private/app'))
    await page.locator('[data-testid="sign-out"]').click()
    await page.waitForURL(`${suite.quire.url}/`)
    expect(await databaseNames(page)).not.toContain(database('alice', 'private/app'))
  })

  it('tabs of different users on one document do not sync through the browser; names are the token\'s', async () => {
    const [alice, bob] = await Promise.all([mintToken(ALICE), mintToken(BOB)])
    const a = await suite.open(`/d/shared/pair?token=${alice}&name=Mallory`)
    const a2 = await openTab(a, `/d/shared/pair?token=${alice}`)
    const b = await openTab(a, `/d/shared/pair?token=${bob}`)
    const b2 = await openTab(a, `/d/shared/pair?token=${bob}`)
    const pages = [a.page, a2, b, b2]
    await Promise.all(pages.map((p) => waitStatus(p, 'connected')))

    // The token names Alice, whatever ?name= says, and she cannot rename herself.
    const self = a.page.locator('[data-testid="presence-user"][data-self="true"]')
    await self.filter({ hasText: 'Alice Example' }).waitFor()
    await b.locator('[data-testid="presence-user"]', { hasText: 'Alice Example' }).waitFor()
    expect(await b.locator('[data-testid="presence-list"]').textContent()).not.toContain('Mallory')
    let prompts = 0
    a.page.on('dialog', (dialog) => { prompts++; void dialog.dismiss() })
    await self.click()
    expect(prompts).toBe(0)

    // Offline: only the browser could carry edits between tabs.
    await a.context.setOffline(true)
    await Promise.all(pages.map((p) => waitStatus(p, 'offline')))
    const editor = (p: Page): Locator => p.locator('.ProseMirror')
    await typeAtEnd(a.page, editor(a.page), 'Alice offline.')
    await waitForText(editor(a2), 'Alice offline.')
    await typeAtEnd(b, editor(b), 'Bob offline.')
    await waitForText(editor(b2), 'Bob offline.')
    for (const p of [b, b2]) expect(await docText(editor(p))).not.toContain('Alice offline.')
    for (const p of [a.page, a2]) expect(await docText(editor(p))).not.toContain('Bob offline.')

    // Through the server, they meet; Alice's caret carries the token's name.
    await a.context.setOffline(false)
    await Promise.all(pages.map((p) => waitStatus(p, 'connected', true)))
    for (const p of pages) await waitForText(editor(p), 'Alice offline.', 'Bob offline.')
    await b.locator('.collaboration-carets__label', { hasText: 'Alice Example' }).first().waitFor({ state: 'attached' })
  })
})
