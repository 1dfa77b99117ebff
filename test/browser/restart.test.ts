/**
 * Status and saved state through a server restart (kill -9, then start again
 * on the same port and data dir): connected and saved → offline → unsaved
 * edits while it is down → connected and saved once they are durable, and
 * what was shown as saved is really on disk.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startQuire, type QuireProcess } from '../helpers/quire-process.js'
import { launchBrowser, openUser, serverText, typeAtEnd, waitForText, waitStatus, type User } from './harness.js'

let quire: QuireProcess
let browser: Browser
let user: User | undefined

beforeAll(async () => {
  [quire, browser] = await Promise.all([startQuire(), launchBrowser()])
})
afterAll(async () => {
  expect(user?.errors ?? []).toEqual([])
  await browser?.close()
  await quire?.kill()
})

describe('status and saved state', () => {
  it('follow the server through a crash and restart', async () => {
    user = await openUser(browser, `${quire.url}/d/restart?name=Alice`)
    const { page } = user
    const editor = page.locator('.ProseMirror')
    await waitStatus(page, 'connected')
    await typeAtEnd(page, editor, 'Written before the crash.')
    await waitStatus(page, 'connected', true)

    await quire.kill('SIGKILL')
    await waitStatus(page, 'offline', true)

    // Edits while the server is down are kept, and shown as not saved.
    await typeAtEnd(page, editor, ' Written while it was down.')
    await waitStatus(page, 'offline', false)

    quire = await quire.restart()
    await waitStatus(page, 'connected', true)
    expect(await serverText(quire.url, 'restart')).toBe('Written before the crash. Written while it was down.')

    // "Saved" meant durable: with the page gone, a second crash loses nothing.
    await user.context.close()
    await quire.kill('SIGKILL')
    quire = await quire.restart()
    expect(await serverText(quire.url, 'restart')).toBe('Written before the crash. Written while it was down.')

    // And a new visitor gets it all.
    const later = await openUser(browser, `${quire.url}/d/restart?name=Bob`)
    await waitForText(later.page.locator('.ProseMirror'), 'Written before the crash. Written while it was down.')
    expect(later.errors).toEqual([])
  })
})
