/**
 * Two people in the web app, each in their own browser context: they co-edit,
 * see each other's caret (with name), both appear in both presence lists,
 * the typing indicator appears and clears, formatting and Yjs undo travel.
 *
 * UPDATE_SCREENSHOTS=1 also writes docs/screenshots/two-users*.png.
 */
import { mkdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { browserSuite, docText, typeAtEnd, waitForText, waitStatus, type User } from './harness.js'

const suite = browserSuite()
const open = (doc: string, name: string): Promise<User> => suite.open(`/d/${doc}?name=${encodeURIComponent(name)}`)

describe('two users in the web app', () => {
  it('co-edit with carets, presence, typing indicator, formatting and undo', async () => {
    const [alice, bob] = await Promise.all([open('collab', 'Alice'), open('collab', 'Bob')])
    const aliceEditor = alice.page.locator('.ProseMirror')
    const bobEditor = bob.page.locator('.ProseMirror')
    await Promise.all([waitStatus(alice.page, 'connected'), waitStatus(bob.page, 'connected')])

    // Presence: both people on both sides, each marked as "you" on their own page.
    for (const [user, self, other] of [[alice, 'Alice', 'Bob'], [bob, 'Bob', 'Alice']] as const) {
      const people = user.page.locator('[data-testid="presence-list"] [data-testid="presence-user"]')
      await people.filter({ hasText: other }).waitFor()
      expect(await people.count()).toBe(2)
      await expect(people.filter({ hasText: self }).getAttribute('data-self')).resolves.toBe('true')
      await expect(people.filter({ hasText: other }).getAttribute('data-self')).resolves.toBe('false')
    }

    // Co-editing: each sees the other's words.
    await typeAtEnd(alice.page, aliceEditor, 'Alice writes the opening line.')
    await waitForText(bobEditor, 'Alice writes the opening line.')
    await typeAtEnd(bob.page, bobEditor, ' Bob adds a second thought.')
    await waitForText(aliceEditor, 'Alice writes the opening line.', 'Bob adds a second thought.')

    // Typing indicator: Bob just typed; Alice is told, then it clears by itself.
    const aliceTyping = alice.page.locator('[data-testid="typing-indicator"]')
    await aliceTyping.filter({ hasText: 'Bob is typing…' }).waitFor()
    await alice.page.waitForFunction(() => document.querySelector('[data-testid="typing-indicator"]')?.textContent === '', undefined, { timeout: 15_000 })

    // Carets carry the other person's name.
    await alice.page.locator('.collaboration-carets__caret .collaboration-carets__label', { hasText: 'Bob' }).waitFor()
    await bob.page.locator('.collaboration-carets__caret .collaboration-carets__label', { hasText: 'Alice' }).waitFor()

    // Formatting from the toolbar reaches the other side.
    await bobEditor.click()
    await bob.page.keyboard.press('Control+End')
    await bob.page.keyboard.press('Enter')
    await bob.page.locator('[data-tool="bold"]').click()
    await bob.page.keyboard.type('Bold words')
    await alice.page.locator('.ProseMirror strong', { hasText: 'Bold words' }).waitFor()

    if (process.env.UPDATE_SCREENSHOTS) {
      await alice.page.locator('[data-testid="typing-indicator"]', { hasText: 'Bob is typing…' }).waitFor()
      await sideBySide('docs/screenshots/two-users.png', await alice.page.screenshot(), await bob.page.screenshot())
    }

    // Undo goes through Yjs: it takes back Bob's own change only.
    await bob.page.locator('[data-tool="undo"]').click()
    await alice.page.locator('.ProseMirror strong').waitFor({ state: 'detached' })
    await waitForText(aliceEditor, 'Alice writes the opening line.', 'Bob adds a second thought.')

    // Carets stay when an editor loses focus: Alice blurs; once Bob learns she
    // stopped typing (sent after the blur), her caret is still on his screen.
    await typeAtEnd(alice.page, aliceEditor, '!')
    await bob.page.locator('[data-testid="typing-indicator"]', { hasText: 'Alice is typing…' }).waitFor()
    await alice.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
    await bob.page.waitForFunction(() => document.querySelector('[data-testid="typing-indicator"]')?.textContent === '')
    expect(await bob.page.locator('.collaboration-carets__label', { hasText: 'Alice' }).count()).toBe(1)

    await waitForText(bobEditor, 'thought.!')
    const [a, b] = await Promise.all([docText(aliceEditor), docText(bobEditor)])
    expect(a).toBe('Alice writes the opening line. Bob adds a second thought.!')
    expect(b).toBe(a)
  })
})

/** Both people's screens next to each other, as one picture for the docs. */
async function sideBySide (path: string, left: Buffer, right: Buffer): Promise<void> {
  mkdirSync('docs/screenshots', { recursive: true })
  const page = await suite.browser.newPage({ viewport: { width: 2240, height: 700 } })
  const img = (b: Buffer, who: string): string =>
    `<figure><figcaption>${who}</figcaption><img src="data:image/png;base64,${b.toString('base64')}"></figure>`
  await page.setContent(`<style>body{margin:0;display:flex;gap:20px;padding:10px;background:#dee2e6;font:600 14px system-ui}
    figure{margin:0}figcaption{padding:4px 2px}img{display:block;border-radius:8px;box-shadow:0 2px 10px #0003}</style>
    ${img(left, 'Alice’s browser')}${img(right, 'Bob’s browser')}`)
  await page.screenshot({ path, fullPage: true })
  await page.close()
}
