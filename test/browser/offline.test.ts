/**
 * Offline editing: Bob's browser goes offline (context.setOffline), both keep
 * writing, and everything merges when he is back. Then an edit made offline
 * survives closing the page (IndexedDB) and reaches Alice once Bob's browser
 * opens the document again online.
 */
import { describe, expect, it } from 'vitest'
import { ANONYMOUS, localKeys } from '../../client/src/provider/local-keys.js'
import { browserSuite, docText, localCopyWritten, typeAtEnd, waitForText, waitStatus, watchErrors } from './harness.js'

const suite = browserSuite()

describe('offline editing', () => {
  it('merges edits made offline, also across closing the page', async () => {
    const path = (name: string): string => `/d/offline?name=${name}`
    const [alice, bob] = await Promise.all([suite.open(path('Alice')), suite.open(path('Bob'))])
    const aliceEditor = alice.page.locator('.ProseMirror')
    const bobEditor = bob.page.locator('.ProseMirror')
    await Promise.all([waitStatus(alice.page, 'connected'), waitStatus(bob.page, 'connected')])
    await typeAtEnd(alice.page, aliceEditor, 'Shared start.')
    await waitForText(bobEditor, 'Shared start.')

    // Bob loses the network; both go on writing.
    await bob.context.setOffline(true)
    await waitStatus(bob.page, 'offline')
    await typeAtEnd(bob.page, bobEditor, ' Bob on the train.')
    await waitStatus(bob.page, 'offline', false)
    await typeAtEnd(alice.page, aliceEditor, ' Alice at her desk.')
    await waitStatus(alice.page, 'connected', true)

    // Back online: reconnects at once and both documents converge.
    await bob.context.setOffline(false)
    await waitStatus(bob.page, 'connected', true)
    await waitForText(aliceEditor, 'Bob on the train.', 'Alice at her desk.')
    await waitForText(bobEditor, 'Bob on the train.', 'Alice at her desk.')
    expect(await docText(bobEditor)).toBe(await docText(aliceEditor))

    // Offline again: an edit, the page closed before the network comes back.
    await bob.context.setOffline(true)
    await waitStatus(bob.page, 'offline')
    await typeAtEnd(bob.page, bobEditor, ' Kept on this device.')
    expect(await localCopyWritten(bob.page, localKeys(suite.quire.wsUrl, ANONYMOUS, 'offline').database)).toBeGreaterThan(0)
    await bob.page.close()
    await bob.context.setOffline(false)

    const again = await bob.context.newPage()
    watchErrors(again, bob.errors)
    await again.goto(`${suite.quire.url}${path('Bob')}`)
    await waitStatus(again, 'connected', true)
    await waitForText(aliceEditor, 'Kept on this device.')
    expect(await docText(again.locator('.ProseMirror'))).toBe(await docText(aliceEditor))
  })
})
