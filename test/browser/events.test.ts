/**
 * Live events in a real browser (docs/events.md): the web app's home page
 * shows "N editing now" and the last change beside each recent document,
 * live, while people edit in the editor; and the ten-line EventSource
 * example of docs/events.md, run as it is written, sees the same.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { browserSuite, typeAtEnd, waitStatus, watchErrors } from './harness.js'
import { connectClient, whenSynced } from '../helpers/clients.js'

const suite = browserSuite({ EVENTS_ACTIVITY_MS: '200' })

/** A page at Quire's home with these documents as its recent ones. */
async function home (docs: string[]): Promise<{ page: Page, errors: string[] }> {
  const context = await suite.browser.newContext()
  const page = await context.newPage()
  const errors: string[] = []
  watchErrors(page, errors)
  await page.goto(`${suite.quire.url}/`)
  await page.evaluate((names) => localStorage.setItem('quire:recent', JSON.stringify(names.map((name) => ({ name, openedAt: Date.now() })))), docs)
  await page.reload()
  return { page, errors }
}

const item = (page: Page, doc: string) => page.locator(`[data-testid="recent-document"][data-doc="${doc}"]`)

describe('the home page', () => {
  it('shows who is editing each recent document and what changed, live', async () => {
    const { page, errors } = await home(['live/one', 'live/two'])
    const one = item(page, 'live/one')
    await one.waitFor()
    expect(await one.locator('[data-testid="editing-now"]').textContent()).toBe('')

    const ada = await suite.open('/d/live/one?name=Ada')
    await waitStatus(ada.page, 'connected')
    await one.locator('[data-testid="editing-now"]', { hasText: '1 editing now' }).waitFor()
    const bo = await suite.open('/d/live/one?name=Bo')
    await waitStatus(bo.page, 'connected')
    await one.locator('[data-testid="editing-now"]', { hasText: '2 editing now' }).waitFor()
    expect(await item(page, 'live/two').locator('[data-testid="editing-now"]').textContent()).toBe('')

    await typeAtEnd(ada.page, ada.page.locator('.ProseMirror'), 'Ada was here.')
    await one.locator('[data-testid="last-change"]', { hasText: 'changed by Ada just now' }).waitFor()

    await bo.context.close()
    await one.locator('[data-testid="editing-now"]', { hasText: '1 editing now' }).waitFor()
    await ada.context.close()
    await page.waitForFunction(() => document.querySelector('[data-testid="recent-document"][data-doc="live/one"] [data-testid="editing-now"]')?.textContent === '', undefined, { timeout: 15_000 })
    expect(errors).toEqual([])
    await page.context().close()
  })
})

describe('the EventSource example of docs/events.md', () => {
  it('runs as written and logs who is editing and who changed what', async () => {
    const page = readFileSync('docs/events.md', 'utf8')
    const snippet = /## In a browser[\s\S]*?```js\n([\s\S]*?)```/.exec(page)?.[1]
    expect(snippet?.trim().split('\n')).toHaveLength(10)
    const context = await suite.browser.newContext()
    const tab = await context.newPage()
    const logged: string[] = []
    tab.on('console', (msg) => logged.push(msg.text()))
    const errors: string[] = []
    watchErrors(tab, errors)
    await tab.goto(`${suite.quire.url}/`)
    await tab.evaluate(snippet!)
    /** Resolves once the example logged `line` (at index `from` or later). */
    const seen = async (line: string, from = 0): Promise<void> => {
      const deadline = Date.now() + 15_000
      while (!logged.slice(from).includes(line)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for the example to log ${JSON.stringify(line)}; it logged ${JSON.stringify(logged)}`)
        await tab.waitForEvent('console', { timeout: deadline - Date.now() }).catch(() => {})
      }
    }
    await seen('team/notes: 0 editing now')
    const writer = connectClient(suite.quire.wsUrl, 'team/notes')
    writer.provider.awareness.setLocalStateField('user', { id: 'cleo', name: 'Cleo' })
    await whenSynced(writer, 'Cleo to sync team/notes')
    await seen('team/notes: 1 editing now')
    writer.text.insert(0, 'notes')
    await seen('team/notes changed by Cleo')
    const before = logged.length
    writer.destroy()
    await seen('team/notes: 0 editing now', before)
    expect(logged).toContain('team/plan: 0 editing now')
    expect(errors).toEqual([])
    await context.close()
  })
})
