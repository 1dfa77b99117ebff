/**
 * The history panel of the web editor (docs/history.md, "In the web editor"),
 * in headless Chromium: versions saved on demand and automatically appear in
 * the list with who edited and their size, a version's preview shows it as
 * it was, the diff highlights what was added since, and restoring one
 * changes the editor, for a collaborator too, live.
 */
import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { browserSuite, docText, typeAtEnd, waitForText, waitStatus } from './harness.js'
import { waitFor } from '../helpers/wait.js'

const suite = browserSuite({ HISTORY_QUIET_MS: '300' })

const item = (page: Page, text: string) => page.locator('[data-testid="history-item"]', { hasText: text })

/** Save a version from the panel with this label (the panel asks for it in a prompt). */
async function saveVersion (page: Page, label: string): Promise<void> {
  page.once('dialog', (dialog) => { void dialog.accept(label) })
  await page.locator('[data-testid="history-save"]').click()
  await item(page, label).waitFor()
}

describe('the history panel', () => {
  it('lists versions, previews one, highlights what changed, and restores it for everyone', async () => {
    const alice = await suite.open('/d/history-panel?name=Alice')
    // The page's editor (the panel's preview is another .ProseMirror).
    const editor = alice.page.locator('.app-editor .ProseMirror')
    await waitStatus(alice.page, 'connected')
    await typeAtEnd(alice.page, editor, 'The first draft.')
    await waitStatus(alice.page, 'connected', true)

    const panel = alice.page.locator('[data-testid="history-panel"]')
    expect(await panel.isVisible()).toBe(false)
    await alice.page.locator('[data-testid="history-button"]').click()
    await panel.waitFor()
    // The automatic version of what was just typed shows up by itself (the panel reads the list again now and then).
    await item(alice.page, 'Saved automatically').waitFor()
    // Who edited (nobody is signed in: anonymous) and the size.
    await expect(item(alice.page, 'Saved automatically').locator('[data-testid="history-users"]').textContent()).resolves.toMatch(/^Anonymous · \d+ B$/)
    await saveVersion(alice.page, 'Draft one')
    // Nobody edited since the automatic one.
    await expect(item(alice.page, 'Draft one').locator('[data-testid="history-users"]').textContent()).resolves.toMatch(/^\d+ B$/)

    await typeAtEnd(alice.page, editor, ' Then a second thought.')
    await waitStatus(alice.page, 'connected', true)
    await saveVersion(alice.page, 'Draft two')

    // Preview: the first draft as it was.
    await item(alice.page, 'Draft one').locator('button').click()
    const preview = alice.page.locator('[data-testid="history-preview"] .ProseMirror')
    await preview.filter({ hasText: 'The first draft.' }).waitFor()
    expect(await docText(preview)).toBe('The first draft.')
    expect(await preview.getAttribute('contenteditable')).toBe('false')

    // Changes since then: the second thought, highlighted as added.
    await alice.page.locator('[data-testid="history-show-diff"]').click()
    const diff = alice.page.locator('[data-testid="history-diff"]')
    await diff.locator('ins', { hasText: 'second thought' }).waitFor()
    expect(await diff.locator('del').count()).toBe(0)
    // Draft two against the version before it: the same words added.
    await item(alice.page, 'Draft two').locator('button').click()
    await alice.page.locator('[data-testid="history-diff-base"]').selectOption('previous')
    await diff.locator('ins', { hasText: 'second thought' }).waitFor()

    // A collaborator is here when the first draft is restored.
    const bob = await suite.open('/d/history-panel?name=Bob')
    const bobEditor = bob.page.locator('.app-editor .ProseMirror')
    await waitForText(bobEditor, 'Then a second thought.')
    await item(alice.page, 'Draft one').locator('button').click()
    await alice.page.locator('[data-testid="history-restore"]').click()
    await waitFor(() => docText(editor), (text) => text === 'The first draft.', 'the restore in Alice\'s editor')
    await waitFor(() => docText(bobEditor), (text) => text === 'The first draft.', 'the restore in Bob\'s editor, live')
    // Nothing was rewritten: what was there before the restore is still listed.
    await item(alice.page, 'Draft two').waitFor()
    expect(await alice.page.locator('[data-testid="history-error"]').isVisible()).toBe(false)
    // Closed, the panel leaves one editor on the page.
    await alice.page.locator('[data-testid="history-button"]').click()
    expect(await panel.isVisible()).toBe(false)
    expect(await alice.page.locator('.ProseMirror').count()).toBe(1)
  })
})
