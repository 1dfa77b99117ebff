/**
 * Write-through and compaction of the embedded store, on a real process:
 * an edit another client has seen, or that was acknowledged, survives
 * `kill -9`; the stored log stays close to the document's encoded size.
 */
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { QuireProcess } from '../harness/quire.js'
import { whenDoc, whenSynced } from './helpers/clients.js'
import { QUICK_DRAIN } from './helpers/env-presets.js'
import { fleet } from './helpers/fleet.js'
import { openRaw } from './helpers/raw-socket.js'
import { encodeUpdate, readServerFrame, textUpdate } from './helpers/frames.js'
import { allZero, liveCounts } from './helpers/metrics.js'
import { waitFor } from './helpers/wait.js'
import { LevelStore } from '../server/backend/embedded/level-store.js'

const { start, client, stop, stopAll } = fleet()
afterAll(stopAll)
const kill9 = async (q: QuireProcess): Promise<void> => { await stop(q) }

describe.each(['always', 'everysec'])('write-through, DATA_FSYNC=%s', (fsync) => {
  it('kill -9 right after another client has seen an edit never loses it', async () => {
    let quire = await start({ DATA_FSYNC: fsync })
    const expected: string[] = []
    for (let round = 0; round < 3; round++) {
      const a = client(quire, 'wt/doc')
      const b = client(quire, 'wt/doc')
      await Promise.all([whenSynced(a, `round ${round}: the writer to sync`), whenSynced(b, `round ${round}: the watcher to sync`)])
      // A burst of separate edits; the moment b has seen the last one, kill.
      for (let i = 0; i < 100; i++) a.text.insert(a.text.length, `${round}:${i};`)
      const marker = `${round}:99;`
      expected.push(...Array.from({ length: 100 }, (_, i) => `${round}:${i};`))
      await whenDoc(b.doc, () => b.text.toString().includes(marker), `round ${round}: the watcher to see the last edit of the burst`)
      const killed = kill9(quire)
      // These clients must not reconnect and re-send what they hold.
      a.destroy()
      b.destroy()
      await killed
      quire = await start(quire.env)
      const c = client(quire, 'wt/doc')
      await whenSynced(c, `round ${round}: a client of the restarted process to sync`)
      expect(c.text.toString()).toBe(expected.join(''))
      c.destroy()
    }
  })

  it('an acknowledged update (?ack=1) survives kill -9', async () => {
    let quire = await start({ DATA_FSYNC: fsync })
    const raw = await openRaw(`${quire.wsUrl}/wt/acked?ack=1`)
    raw.send(encodeUpdate(textUpdate('acknowledged')))
    await raw.next((f) => { const m = readServerFrame(f); return m.type === 'ack' && m.count === 1 }, 'the acknowledgement of the update')
    await kill9(quire)
    quire = await start(quire.env)
    const c = client(quire, 'wt/acked')
    await whenSynced(c, 'a client of the restarted process to sync')
    expect(c.text.toString()).toBe('acknowledged')
  })
})

describe('compaction', () => {
  it('after many updates the stored bytes stay close to the encoded document size', async () => {
    // One client sends 3,000 messages in one go: above the default burst.
    const quire = await start({ RATE_LIMIT_BURST: '100000', ...QUICK_DRAIN })
    const a = client(quire, 'compact/doc')
    await whenSynced(a, 'the writer to sync')
    // 3,000 separate edits (typing, with some deletions), well past the
    // compaction threshold, so compaction happens live and again on unload.
    for (let i = 0; i < 3000; i++) {
      if (i % 7 === 6) a.text.delete(Math.floor(a.text.length / 2), 1)
      else a.text.insert(Math.floor(a.text.length * ((i * 37) % 100) / 100), String.fromCharCode(97 + (i % 26)))
    }
    const b = client(quire, 'compact/doc')
    await whenDoc(b.doc, () => b.text.toString() === a.text.toString(), 'the second client to catch up with 3,000 edits', 30_000)
    const encoded = Y.encodeStateAsUpdate(a.doc).length
    a.destroy()
    b.destroy()
    await waitFor(() => liveCounts(quire.url), allZero, 'the document to unload')
    expect(await stop(quire, 'SIGTERM')).toBe(0)

    const store = await LevelStore.open(quire.env.DATA_DIR)
    try {
      const stored = await store.load('compact/doc')
      const text = new Y.Doc()
      for (const u of stored.updates) Y.applyUpdate(text, u)
      expect(text.getText('t').toString()).toBe(a.text.toString())
      expect(stored.updates.length).toBe(1)
      expect(stored.bytes).toBeLessThanOrEqual(1.2 * encoded + 64)
    } finally {
      await store.close()
    }
  })
})
