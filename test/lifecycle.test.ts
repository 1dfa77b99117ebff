/**
 * Document lifecycle: one load per document at a time, nothing stored from a
 * load that failed, unload once durable when the last connection leaves, and
 * nothing left behind after many connections come and go.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { DocumentRegistry } from '../server/document/registry.js'
import { FakePeer } from './helpers/fake-peer.js'
import { QUICK_DRAIN, UNPACED } from './helpers/env-presets.js'
import { LocalBus } from '../server/backend/bus.js'
import { createMetrics } from '../server/ops/metrics.js'
import { createLogger } from '../server/ops/log.js'
import { LevelStore } from '../server/backend/embedded/level-store.js'
import { GatedStore, gate, nextTurn } from './helpers/gated-store.js'
import { startInProcess } from './helpers/in-process.js'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { connectClient, whenClosed, whenConnected, whenDoc, whenSynced, type TestClient } from './helpers/clients.js'
import { openRaw } from './helpers/raw-socket.js'
import { allZero, liveCounts } from './helpers/metrics.js'
import { waitFor } from './helpers/wait.js'
import { mintToken, nowSeconds, TEST_SECRET } from './helpers/tokens.js'

const processes: QuireProcess[] = []
afterAll(async () => { await Promise.all(processes.map((q) => q.kill())) })

function registryOn (store: GatedStore): DocumentRegistry {
  return new DocumentRegistry({ store, bus: new LocalBus(), metrics: createMetrics(), log: createLogger('silent') })
}

/** Store `count` small edits of Y.Text "t" as separate updates; returns the final text. */
async function seed (store: GatedStore, name: string, count: number): Promise<string> {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  for (let i = 0; i < count; i++) doc.getText('t').insert(doc.getText('t').length, `${i % 10}`)
  for (const u of updates) await store.append(name, [u])
  store.calls = { load: 0, append: 0, compact: 0 }
  return doc.getText('t').toString()
}

describe('loading (unit, slow store)', () => {
  it('concurrent opens of a loading document share one load and all get the whole document', async () => {
    const store = new GatedStore()
    const full = await seed(store, 'doc', 200)
    store.loadGate = gate()
    const registry = registryOn(store)
    let settled = 0
    const opens = Array.from({ length: 20 }, () => registry.acquire('doc').then((d) => { settled++; return d }))
    await nextTurn()
    expect(store.calls.load).toBe(1)
    expect(settled).toBe(0)
    store.loadGate.open()
    const docs = await Promise.all(opens)
    expect(new Set(docs).size).toBe(1)
    expect(docs[0].ydoc.getText('t').toString()).toBe(full)
    expect(store.calls.load).toBe(1)
  })

  it('stock clients that connect while the document loads all sync to the whole document, never part of it', async () => {
    const store = new GatedStore()
    const full = await seed(store, 'big', 500)
    store.loadGate = gate()
    const q = await startInProcess(store)
    const clients: TestClient[] = []
    try {
      const textAtSync: string[] = []
      for (let i = 0; i < 8; i++) {
        const c = connectClient(q.wsUrl, 'big')
        clients.push(c)
        c.provider.on('sync', (synced: boolean) => { if (synced) textAtSync.push(c.text.toString()) })
      }
      // Every client is connected and waiting on the same load.
      await waitFor(() => store.calls.load, (n) => n === 1, 'the load to start')
      await Promise.all(clients.map((c, i) => whenConnected(c, `client ${i} to connect`)))
      expect(textAtSync).toEqual([])
      store.loadGate.open()
      await Promise.all(clients.map((c, i) => whenSynced(c, `client ${i} to sync once the load is done`)))
      expect(textAtSync).toEqual(Array(8).fill(full))
      expect(store.calls.load).toBe(1)
    } finally {
      for (const c of clients) c.destroy()
      await q.quire.drain()
    }
  })
})

describe('failed loads', () => {
  it('leave nothing behind and write nothing; a later open loads for real', async () => {
    const store = new GatedStore()
    const full = await seed(store, 'doc', 50)
    const before = await store.load('doc')
    store.calls.load = 0
    store.failLoads = new Error('disk on fire')
    const registry = registryOn(store)
    const results = await Promise.allSettled([registry.acquire('doc'), registry.acquire('doc'), registry.acquire('doc')])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect(store.calls.load).toBe(1)
    expect(registry.size).toBe(0)
    expect(store.calls.append + store.calls.compact).toBe(0)
    store.failLoads = null
    expect(await store.load('doc')).toEqual(before)

    const doc = await registry.acquire('doc')
    expect(doc.ydoc.getText('t').toString()).toBe(full)
  })

  it('clients of a document that cannot be loaded are closed with 1011, and what is on disk stays as it was', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'quire-corrupt-'))
    const good = new Y.Doc()
    good.getText('t').insert(0, 'precious')
    const valid = Y.encodeStateAsUpdate(good)
    const corrupt = valid.slice(0, valid.length - 3)
    expect(() => Y.applyUpdate(new Y.Doc(), corrupt)).toThrow()
    const level = await LevelStore.open(dataDir)
    await level.append('broken', [valid])
    await level.append('broken', [corrupt])
    const before = await level.load('broken')
    await level.close()

    const quire = await startQuire({ DATA_DIR: dataDir, ...QUICK_DRAIN })
    processes.push(quire)
    const c = connectClient(quire.wsUrl, 'broken')
    try {
      const close = await whenClosed(c, 'the client of the corrupt document to be closed')
      expect(close).toEqual({ code: 1011, reason: 'document failed to load' })
      expect(c.text.toString()).toBe('')
      const raw = await openRaw(`${quire.wsUrl}/broken`)
      expect(await raw.whenClosed('a raw client of the corrupt document to be closed')).toEqual({ code: 1011, reason: 'document failed to load' })
      expect(raw.frames).toEqual([])
      // Other documents are unaffected.
      const other = connectClient(quire.wsUrl, 'fine')
      await whenSynced(other, 'a client of another document to sync')
      other.destroy()
    } finally {
      c.destroy()
    }
    expect(await quire.kill('SIGTERM')).toBe(0)
    const reopened = await LevelStore.open(dataDir)
    expect(await reopened.load('broken')).toEqual(before)
    await reopened.close()
  })
})

describe('unloading (unit)', () => {
  it('waits until what the document received is durable, then unloads', async () => {
    const store = new GatedStore()
    const registry = registryOn(store)
    const doc = await registry.acquire('doc')
    const peer = new FakePeer()
    doc.addPeer(peer)
    store.appendGate = gate()
    const edit = new Y.Doc()
    edit.getText('t').insert(0, 'last words')
    doc.handleUpdate(peer, Y.encodeStateAsUpdate(edit))
    doc.removePeer(peer)
    registry.release(doc)
    await nextTurn()
    await nextTurn()
    expect(store.calls.append).toBe(1)
    expect(registry.size).toBe(1)
    store.appendGate.open()
    await waitFor(() => registry.size, (n) => n === 0, 'the unload')
    const reloaded = await registry.acquire('doc')
    expect(reloaded).not.toBe(doc)
    expect(reloaded.ydoc.getText('t').toString()).toBe('last words')
  })

  it('a document opened again while it waits to unload stays loaded and is the same instance', async () => {
    const store = new GatedStore()
    const registry = registryOn(store)
    const doc = await registry.acquire('doc')
    const peer = new FakePeer()
    store.appendGate = gate()
    doc.handleUpdate(peer, Y.encodeStateAsUpdate((() => { const d = new Y.Doc(); d.getText('t').insert(0, 'x'); return d })()))
    registry.release(doc)
    const again = await registry.acquire('doc')
    expect(again).toBe(doc)
    store.appendGate.open()
    await doc.whenDurable()
    await nextTurn()
    expect(registry.size).toBe(1)
    registry.release(again)
    await waitFor(() => registry.size, (n) => n === 0, 'the unload')
  })
})

describe('a real process', () => {
  it('unloads a document when its last connection leaves', async () => {
    const quire = await startQuire()
    processes.push(quire)
    const a = connectClient(quire.wsUrl, 'solo')
    await whenSynced(a, 'the only client to sync')
    a.text.insert(0, 'bye')
    expect((await liveCounts(quire.url)).documents).toBe(1)
    a.destroy()
    await waitFor(() => liveCounts(quire.url), allZero, 'documents, document objects, timers and connections back to zero')
    const b = connectClient(quire.wsUrl, 'solo')
    await whenDoc(b.doc, () => b.text.toString() === 'bye', 'a new client to get the text back from the store')
    b.destroy()
  })

  it('1,000 connections over 100 documents come and go; loaded documents, live document objects and timers return to zero', { timeout: 90_000 }, async () => {
    // With tokens that expire, every connection holds an expiry timer too. One user holds
    // them all, and a round's vanished clients may still be counted when the next connects.
    const quire = await startQuire({ AUTH_SECRET: TEST_SECRET, MAX_CONNECTIONS_PER_USER: '1000', ...UNPACED })
    processes.push(quire)
    const token = await mintToken({ sub: 'leaky', allowedDocumentNames: ['leak/*'] }, { expiresAt: nowSeconds() + 3600 })
    const DOCS = 100
    const ROUNDS = 10
    for (let round = 0; round < ROUNDS; round++) {
      const clients = Array.from({ length: DOCS }, (_, i) => connectClient(quire.wsUrl, `leak/${i}`, { token }))
      await Promise.all(clients.map((c, i) => whenSynced(c, `round ${round}: the client of leak/${i} to sync`)))
      for (const [i, c] of clients.entries()) {
        c.text.insert(0, `${round}.${i} `)
        c.provider.awareness.setLocalStateField('user', { name: `u${i}` })
      }
      if (round === 0) {
        // The gauges count something real while everyone is here.
        const live = await liveCounts(quire.url)
        expect(live).toMatchObject({ connections: DOCS, documents: DOCS, alive: DOCS })
        expect(live.timers).toBeGreaterThanOrEqual(DOCS)
      }
      // Half leave politely, half just vanish (no closing handshake).
      for (const [i, c] of clients.entries()) {
        if (i % 2 === 0) c.destroy()
        else {
          (c.provider.ws as unknown as { terminate (): void } | null)?.terminate()
          c.destroy()
        }
      }
    }
    await waitFor(() => liveCounts(quire.url), allZero, 'documents, document objects, timers and connections back to zero', 30_000)
    // And nothing was lost on the way.
    const check = connectClient(quire.wsUrl, 'leak/42', { token })
    await whenDoc(check.doc, () => check.text.toString().split(' ').filter(Boolean).length === ROUNDS, `leak/42 to hold the edits of all ${ROUNDS} rounds`)
    check.destroy()
  })
})
