/**
 * Offline editing: Bob's browser goes offline (context.setOffline), both keep
 * writing, and everything merges when he is back. Then an edit made offline
 * survives closing the page (IndexedDB) and reaches Alice once Bob's browser
 * opens the document again online.
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ANONYMOUS, localKeys } from '../../client/provider/src/local-keys.js'
import { browserSuite, docText, editorText, typeAtEnd, waitForText, waitStatus, watchErrors } from './harness.js'
import { DEADLINE_MS, waitFor, within } from '../helpers/wait.js'

const suite = browserSuite()

/** The text of the document as the page's local copy (y-indexeddb's database `dbName`) holds it. */
async function localText (page: Page, dbName: string): Promise<string> {
  const updates = await within(page.evaluate((name) => new Promise<number[][]>((resolve, reject) => {
    const req = indexedDB.open(name)
    req.onerror = () => reject(req.error)
    req.onsuccess = () => {
      const db = req.result
      try {
        const all = db.transaction('updates', 'readonly').objectStore('updates').getAll()
        all.onsuccess = () => { resolve((all.result as Uint8Array[]).map((u) => Array.from(u))); db.close() }
        all.onerror = () => reject(all.error)
      } catch (err) {
        db.close()
        reject(err)
      }
    }
  }), dbName), DEADLINE_MS, `the page to read IndexedDB ${dbName}`)
  const doc = new Y.Doc()
  for (const u of updates) Y.applyUpdate(doc, new Uint8Array(u))
  const text = editorText(doc)
  doc.destroy()
  return text
}

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
    const dbName = localKeys(suite.quire.wsUrl, ANONYMOUS, 'offline').database
    expect(await localText(bob.page, dbName)).not.toContain('Kept on this device.')
    await typeAtEnd(bob.page, bobEditor, ' Kept on this device.')
    // IndexedDB writes are asynchronous: close the page only once the edit is in the local copy.
    await waitFor(() => localText(bob.page, dbName), (text) => text.includes('Kept on this device.'), 'the offline edit to be in the page\'s IndexedDB')
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
