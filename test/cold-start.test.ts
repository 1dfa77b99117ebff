/**
 * A document freshly loaded from the store answers a client with an empty
 * state vector from the stored bytes, before its Y.Doc is built
 * (server/document/cold-start.ts), and builds the Y.Doc only when needed:
 * these tests check that the fast answer is the whole document, that
 * `synced` (the first sync step 2) comes last, and that clients that need
 * the Y.Doc (a state vector, an edit, a remote update) still converge and
 * lose nothing.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DocumentRegistry } from '../server/document/registry.js'
import type { SharedDocument } from '../server/document/document.js'
import { LocalBus } from '../server/backend/bus.js'
import { createMetrics } from '../server/ops/metrics.js'
import { createLogger } from '../server/ops/log.js'
import { GatedStore } from './helpers/gated-store.js'
import { QUICK_DRAIN } from './helpers/env-presets.js'
import { FakePeer } from './helpers/fake-peer.js'
import { readServerFrame, textUpdate } from './helpers/frames.js'
import { connectClient, whenDoc, whenSynced } from './helpers/clients.js'
import { startQuire } from '../harness/quire.js'

/** A store holding `doc` as `entries` log entries (1: a compacted snapshot). */
async function storeWith (entries: number): Promise<{ store: GatedStore, text: string }> {
  const store = new GatedStore()
  const source = new Y.Doc()
  const updates: Uint8Array[] = []
  source.on('update', (u: Uint8Array) => updates.push(u))
  for (let i = 0; i < 30; i++) source.getText('t').insert(source.getText('t').length, `line ${i}\n`)
  if (entries === 1) await store.append('doc', [Y.encodeStateAsUpdate(source)])
  else {
    const per = Math.ceil(updates.length / entries)
    for (let i = 0; i < updates.length; i += per) await store.append('doc', [Y.mergeUpdates(updates.slice(i, i + per))])
  }
  return { store, text: source.getText('t').toString() }
}

async function open (store: GatedStore): Promise<{ doc: SharedDocument, registry: DocumentRegistry, metrics: ReturnType<typeof createMetrics> }> {
  const metrics = createMetrics()
  // Every document takes the fast path here, however small.
  const registry = new DocumentRegistry({ store, bus: new LocalBus(), metrics, log: createLogger('silent'), coldMinBytes: 0 })
  return { doc: await registry.acquire('doc'), registry, metrics }
}

const types = (peer: FakePeer): string[] => peer.frames.map((f) => readServerFrame(f).type)

/** Apply every document-carrying frame to `into`, as a stock client would. */
function applyFrames (into: Y.Doc, frames: Uint8Array[]): Y.Doc {
  for (const f of frames) {
    const m = readServerFrame(f)
    if (m.type === 'update' || m.type === 'sync-step2') Y.applyUpdate(into, m.payload)
  }
  return into
}

describe('cold start: answered from the stored bytes', () => {
  it('a compacted document: one sync step 2 with the snapshot, and no Y.Doc built for a reader until something needs it', async () => {
    const { store, text } = await storeWith(1)
    const { doc, metrics } = await open(store)
    const peer = new FakePeer()
    doc.addPeer(peer)
    doc.handleSyncStep1(peer, new Uint8Array([0]))
    expect(types(peer)).toEqual(['sync-step2'])
    expect(applyFrames(new Y.Doc(), peer.frames).getText('t').toString()).toBe(text)
    // Nothing builds it by itself.
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(doc.isCold).toBe(true)
    // Something that needs it builds it; the answered reader is owed no step 1.
    expect(doc.ydoc.getText('t').toString()).toBe(text)
    expect(doc.isCold).toBe(false)
    expect(types(peer)).toEqual(['sync-step2'])
    await doc.destroy()
    expect((await metrics.timersActive.get()).values[0].value).toBe(0)
  })

  it('a log of several entries: all but the last as updates, the last as sync step 2 (a stock client is synced only once it has everything)', async () => {
    const { store, text } = await storeWith(4)
    const { doc } = await open(store)
    const peer = new FakePeer()
    doc.addPeer(peer)
    doc.handleSyncStep1(peer, new Uint8Array([0]))
    expect(types(peer)).toEqual(['update', 'update', 'update', 'sync-step2'])
    expect(applyFrames(new Y.Doc(), peer.frames).getText('t').toString()).toBe(text)
    await doc.destroy()
  })

  it('a burst of joiners shares one load and one encoding: every joiner is sent the very same frames', async () => {
    const { store, text } = await storeWith(4)
    const metrics = createMetrics()
    const registry = new DocumentRegistry({ store, bus: new LocalBus(), metrics, log: createLogger('silent'), coldMinBytes: 0 })
    const joiners = await Promise.all(Array.from({ length: 50 }, () => registry.acquire('doc')))
    expect(store.calls.load).toBe(1)
    const doc = joiners[0]
    expect(joiners.every((d) => d === doc)).toBe(true)
    const peers = joiners.map(() => new FakePeer())
    for (const peer of peers) {
      doc.addPeer(peer)
      doc.handleSyncStep1(peer, new Uint8Array([0]))
    }
    expect(doc.isCold).toBe(true)
    for (const peer of peers) {
      expect(peer.frames).toHaveLength(4)
      // The same Uint8Array objects: encoded for the first, sent as they are to the others.
      peer.frames.forEach((frame, i) => expect(frame).toBe(peers[0].frames[i]))
    }
    expect(applyFrames(new Y.Doc(), peers[49].frames).getText('t').toString()).toBe(text)
    await doc.destroy()
  })

  it('a client with a non-empty state vector gets the difference from the built Y.Doc', async () => {
    const { store, text } = await storeWith(1)
    const stored = await store.load('doc')
    const { doc } = await open(store)
    // A client that already has part of the document.
    const client = new Y.Doc()
    const partial = new Y.Doc()
    Y.applyUpdate(partial, stored.updates[0])
    Y.applyUpdate(client, Y.encodeStateAsUpdate(partial, Y.encodeStateVector(new Y.Doc())))
    client.getText('t').delete(0, 5)
    const peer = new FakePeer()
    doc.addPeer(peer)
    doc.handleSyncStep1(peer, Y.encodeStateVector(client))
    expect(doc.isCold).toBe(false)
    applyFrames(client, peer.frames)
    expect(client.getText('t').toString()).toBe(text.slice(5))
    await doc.destroy()
  })

  it('an edit that arrives before the Y.Doc is built is applied to the whole document, stored and relayed; nothing is lost', async () => {
    const { store, text } = await storeWith(3)
    const { doc } = await open(store)
    const reader = new FakePeer()
    const writer = new FakePeer()
    doc.addPeer(reader)
    doc.addPeer(writer)
    doc.handleSyncStep1(reader, new Uint8Array([0]))
    doc.handleSyncStep1(writer, new Uint8Array([0]))
    expect(doc.isCold).toBe(true)
    // The writer edits on top of what the fast path gave it, at once.
    const writerDoc = applyFrames(new Y.Doc(), writer.frames)
    const edits: Uint8Array[] = []
    writerDoc.on('update', (u: Uint8Array) => edits.push(u))
    writerDoc.getText('t').insert(0, 'EDIT ')
    doc.handleUpdate(writer, edits[0])
    expect(doc.isCold).toBe(false)
    await writer.until((p) => p.acks.includes(1), 'the acknowledgement of the writer\'s edit')
    const readerDoc = applyFrames(new Y.Doc(), reader.frames)
    expect(readerDoc.getText('t').toString()).toBe('EDIT ' + text)
    expect(doc.ydoc.getText('t').toString()).toBe('EDIT ' + text)
    // Unload (compacts) and load again: the store has all of it.
    await doc.destroy()
    const replay = new Y.Doc()
    for (const u of (await store.load('doc')).updates) Y.applyUpdate(replay, u)
    expect(replay.getText('t').toString()).toBe('EDIT ' + text)
  })

  it('a remote update before the Y.Doc is built is applied on top of the stored state and relayed', async () => {
    const { store, text } = await storeWith(1)
    const { doc } = await open(store)
    const peer = new FakePeer()
    doc.addPeer(peer)
    doc.handleSyncStep1(peer, new Uint8Array([0]))
    const remote = textUpdate('from elsewhere')
    doc.onRemoteUpdates([remote])
    expect(doc.isCold).toBe(false)
    const mirror = applyFrames(new Y.Doc(), peer.frames)
    expect(mirror.getText('t').toString()).toBe(doc.ydoc.getText('t').toString())
    expect(mirror.getText('t').toString()).toContain('from elsewhere')
    expect(mirror.getText('t').toString().length).toBe(text.length + 'from elsewhere'.length)
    await doc.destroy()
  })
})

describe('cold start: a damaged snapshot', () => {
  it('is found when the Y.Doc is built (here for a client with content): the document is tainted, its peers evicted, nothing is stored', async () => {
    const store = new GatedStore()
    const good = new Y.Doc()
    good.getText('t').insert(0, 'precious')
    const valid = Y.encodeStateAsUpdate(good)
    await store.append('doc', [valid.slice(0, valid.length - 3)])
    const before = await store.load('doc')
    const { doc } = await open(store)
    const peer = new FakePeer()
    doc.addPeer(peer)
    expect(() => doc.handleSyncStep1(peer, Y.encodeStateVector(good))).toThrow()
    await peer.until((p) => p.evicted, 'the peer to be evicted from the tainted document')
    expect(doc.isTainted).toBe(true)
    await doc.destroy()
    expect(store.calls.append).toBe(1)
    expect(store.calls.compact).toBe(0)
    expect(await store.load('doc')).toEqual(before)
  })
})

describe('cold start with a stock client', () => {
  it('after a restart, a stock y-websocket client syncs the whole document and its edits made meanwhile reach others', async () => {
    const quire = await startQuire(QUICK_DRAIN)
    try {
      const writer = connectClient(quire.wsUrl, 'cold/big')
      await whenSynced(writer, 'the writer to sync')
      // Over the fast path's threshold (64 KiB stored), with a few thousand
      // edits in a few dozen messages (the rate limit counts messages).
      writer.text.insert(0, 'y'.repeat(300_000))
      for (let m = 0; m < 40; m++) writer.doc.transact(() => { for (let i = 0; i < 100; i++) writer.text.insert((m * 37 + i) % (writer.text.length + 1), `${i % 10}`) })
      const expected = writer.text.toString()
      const seen = connectClient(quire.wsUrl, 'cold/big')
      await whenDoc(seen.doc, () => seen.text.length === expected.length, 'a second client to get the whole document before the restart')
      writer.destroy()
      seen.destroy()
      // SIGTERM: the document unloads (compacted) and the restarted server has it only in the store.
      await quire.kill('SIGTERM')
      const again = await quire.restart()
      try {
        const cold = connectClient(again.wsUrl, 'cold/big')
        await whenSynced(cold, 'a client of the restarted server to sync')
        // `synced` fires on the (last) sync step 2: the client has everything by then.
        expect(cold.text.toString()).toBe(expected)
        cold.text.insert(0, 'X')
        const other = connectClient(again.wsUrl, 'cold/big')
        await whenDoc(other.doc, () => other.text.toString() === 'X' + expected, 'another client to get the whole document and the cold client\'s edit')
        cold.destroy()
        other.destroy()
      } finally {
        await again.kill()
      }
    } finally {
      if (quire.proc.exitCode === null) await quire.kill()
    }
  })
})
