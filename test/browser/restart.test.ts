/**
 * Status and saved state through a server restart (kill -9, then start again
 * on the same port and data dir): connected and saved → offline → unsaved
 * edits while it is down (which another tab gets directly) → connected and
 * saved once they are durable, and what was shown as saved is really on disk.
 */
import { describe, expect, it } from 'vitest'
import { browserSuite, serverText, typeAtEnd, waitForText, waitStatus, watchErrors } from './harness.js'

const suite = browserSuite()

describe('status and saved state', () => {
  it('follow the server through a crash and restart', async () => {
    const user = await suite.open('/d/restart?name=Alice')
    const { page } = user
    const editor = page.locator('.ProseMirror')
    await waitStatus(page, 'connected')
    await typeAtEnd(page, editor, 'Written before the crash.')
    await waitStatus(page, 'connected', true)
    const secondTab = await user.context.newPage()
    watchErrors(secondTab, user.errors)
    await secondTab.goto(`${suite.quire.url}/d/restart?name=Alice`)
    await waitStatus(secondTab, 'connected', true)

    await suite.quire.kill('SIGKILL')
    await waitStatus(page, 'offline', true)

    // Edits while the server is down are kept, and shown as not saved;
    // another tab of the same browser has them at once (BroadcastChannel).
    await typeAtEnd(page, editor, ' Written while it was down.')
    await waitStatus(page, 'offline', false)
    await waitForText(secondTab.locator('.ProseMirror'), 'Written while it was down.')
    await secondTab.close()

    suite.quire = await suite.quire.restart()
    await waitStatus(page, 'connected', true)
    expect(await serverText(suite.quire.url, 'restart')).toBe('Written before the crash. Written while it was down.')

    // "Saved" meant durable: with the page gone, a second crash loses nothing.
    await user.context.close()
    await suite.quire.kill('SIGKILL')
    suite.quire = await suite.quire.restart()
    expect(await serverText(suite.quire.url, 'restart')).toBe('Written before the crash. Written while it was down.')

    // And a new visitor gets it all.
    const later = await suite.open('/d/restart?name=Bob')
    await waitForText(later.page.locator('.ProseMirror'), 'Written before the crash. Written while it was down.')
  })
})
