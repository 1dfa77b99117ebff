/**
 * The write pipeline of one document (server/document/document.ts), on a
 * store the test holds at a gate or makes fail: durable before relay, gated
 * sync step 2 answers, acknowledgements, degraded mode, read-only peers, and
 * garbage from a client never making memory, store and clients disagree.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DocumentRegistry } from '../server/document/registry.js'
import type { SharedDocument } from '../server/document/document.js'
import { LocalBus } from '../server/bus/bus.js'
import { createMetrics } from '../server/ops/metrics.js'
import { createLogger } from '../server/ops/log.js'
import { ProtocolError } from '../server/protocol/messages.js'
import { GatedStore, gate, nextTurn } from './helpers/gated-store.js'
import { FakePeer } from './helpers/fake-peer.js'
import { readServerFrame, textUpdate } from './helpers/frames.js'
import { within } from './helpers/wait.js'

async function setup (): Promise<{ store: GatedStore, doc: SharedDocument, registry: DocumentRegistry }> {
  const store = new GatedStore()
  const registry = new DocumentRegistry({ store, bus: new LocalBus(), metrics: createMetrics(), log: createLogger('silent') })
  const doc = await registry.acquire('doc')
  return { store, doc, registry }
}

function join (doc: SharedDocument, canWrite = true): FakePeer {
  const peer = new FakePeer(canWrite)
  doc.addPeer(peer)
  peer.frames = []
  return peer
}

/** What a stock client would end up with from these frames. */
function mirror (frames: Uint8Array[]): Y.Doc {
  const d = new Y.Doc()
  for (const f of frames) {
    const m = readServerFrame(f)
    if (m.type === 'update' || m.type === 'sync-step2') Y.applyUpdate(d, m.payload)
  }
  return d
}

const updatesIn = (peer: FakePeer): Uint8Array[] => peer.frames.filter((f) => readServerFrame(f).type === 'update')

describe('durable before relay', () => {
  it('an update reaches the other peers and its sender\'s ack only once the store has it', async () => {
    const { store, doc } = await setup()
    const a = join(doc)
    const b = join(doc)
    store.appendGate = gate()
    doc.handleUpdate(a, textUpdate('hello'))
    await nextTurn()
    await nextTurn()
    expect(store.calls.append).toBe(1)
    expect(updatesIn(b)).toEqual([])
    expect(a.acks).toEqual([])
    store.appendGate.open()
    await b.until((p) => updatesIn(p).length === 1)
    await a.until((p) => p.acks.length === 1)
    expect(a.acks).toEqual([1])
    expect(mirror(b.frames).getText('t').toString()).toBe('hello')
    // The sender is not sent its own update back.
    expect(updatesIn(a)).toEqual([])
  })

  it('a sync step 2 answer that holds undurable updates is held back until they are durable', async () => {
    const { store, doc } = await setup()
    const a = join(doc)
    store.appendGate = gate()
    doc.handleUpdate(a, textUpdate('pending'))
    const late = join(doc)
    doc.handleSyncStep1(late, new Uint8Array([0]))
    await nextTurn()
    expect(late.frames).toEqual([])
    store.appendGate.open()
    await late.until((p) => p.frames.some((f) => readServerFrame(f).type === 'sync-step2'))
    expect(mirror(late.frames).getText('t').toString()).toBe('pending')
  })

  it('acknowledgements count every update-carrying message, empty ones included, cumulatively and in order', async () => {
    const { doc } = await setup()
    const a = join(doc)
    doc.handleUpdate(a, textUpdate('one'))
    doc.handleUpdate(a, new Uint8Array([0, 0]))
    await a.until((p) => p.acks.at(-1) === 2)
    doc.handleUpdate(a, textUpdate('two'))
    doc.handleUpdate(a, textUpdate('three'))
    await a.until((p) => p.acks.at(-1) === 4)
    expect(a.acks).toEqual([...a.acks].sort((x, y) => x - y))
    expect(a.acks.every((n) => n >= 1 && n <= 4)).toBe(true)
  })

  it('an update that brings nothing new costs no write but is still acknowledged', async () => {
    const { store, doc } = await setup()
    const a = join(doc)
    const update = textUpdate('once', 12345)
    doc.handleUpdate(a, update)
    await a.until((p) => p.acks.at(-1) === 1)
    const appends = store.calls.append
    doc.handleUpdate(a, update)
    await a.until((p) => p.acks.at(-1) === 2)
    expect(store.calls.append).toBe(appends)
  })
})

describe('degraded mode (store failing)', () => {
  it('relays live at once, acknowledges nothing, and catches up with acks when the store is back', async () => {
    const { store, doc } = await setup()
    const a = join(doc)
    const b = join(doc)
    store.failAppends = new Error('store down')
    doc.handleUpdate(a, textUpdate('during outage'))
    await b.until((p) => updatesIn(p).length === 1)
    expect(doc.isDegraded).toBe(true)
    // Still live: the next update goes out at once too; a new reader is answered at once.
    doc.handleUpdate(a, textUpdate('more'))
    await b.until((p) => updatesIn(p).length === 2)
    const late = join(doc)
    doc.handleSyncStep1(late, new Uint8Array([0]))
    expect(late.frames.length).toBe(1)
    expect(a.acks).toEqual([])
    store.failAppends = null
    await a.until((p) => p.acks.at(-1) === 2)
    await doc.whenDurable()
    expect(doc.isDegraded).toBe(false)
    const stored = await store.load('doc')
    const replay = new Y.Doc()
    for (const u of stored.updates) Y.applyUpdate(replay, u)
    expect(replay.getText('t').toString()).toBe(doc.ydoc.getText('t').toString())
  })
})

describe('read-only peers', () => {
  it('their updates are not applied, stored or relayed (but acknowledged, so their client is not stuck)', async () => {
    const { store, doc } = await setup()
    const writer = join(doc)
    const reader = join(doc, false)
    doc.handleUpdate(reader, textUpdate('vandalism'))
    await reader.until((p) => p.acks.at(-1) === 1)
    expect(doc.ydoc.getText('t').toString()).toBe('')
    expect(store.calls.append).toBe(0)
    expect(updatesIn(writer)).toEqual([])
    // Their awareness is shared like anyone's.
    doc.handleAwareness(reader, new Uint8Array([1, 5, 1, ...new TextEncoder().encode('\u0002{}')]))
    await writer.until((p) => p.frames.some((f) => readServerFrame(f).type === 'awareness'))
  })
})

describe('garbage from clients', () => {
  it('whatever Yjs takes from a garbage update is what is stored and relayed; nothing it refuses stalls the pipeline', async () => {
    const { store, doc } = await setup()
    const writer = join(doc)
    const watcher = join(doc)
    const base = new Y.Doc()
    base.getText('t').insert(0, 'hello world')
    base.getMap('m').set('k', 'v')
    const valid = Y.encodeStateAsUpdate(base)
    let seed = 42
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
    let refused = 0
    for (let i = 0; i < 3000; i++) {
      const u = Uint8Array.from(valid)
      const kind = rnd(3)
      if (kind === 0) for (let k = 0; k <= rnd(4); k++) u[rnd(u.length)] = rnd(256)
      const update = kind === 1 ? u.slice(0, rnd(u.length)) : kind === 2 ? Uint8Array.from({ length: 3 + rnd(40) }, () => rnd(256)) : u
      try {
        doc.handleUpdate(writer, update)
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError)
        refused++
      }
      // Several updates share a write and a relayed frame now and then.
      if (i % 5 === 0) await nextTurn()
    }
    expect(refused).toBeGreaterThan(100)
    await within(writer.until((p) => p.acks.at(-1) === 3000), 10_000, 'every update acknowledged (a stalled pipeline never gets there)')
    await doc.whenDurable()
    // Memory, store and a client that saw only the relayed frames agree.
    const stored = await store.load('doc')
    const fromStore = new Y.Doc()
    for (const u of stored.updates) Y.applyUpdate(fromStore, u)
    const fromRelay = mirror(watcher.frames)
    for (const other of [fromStore, fromRelay]) {
      expect(Y.encodeStateVector(other)).toEqual(Y.encodeStateVector(doc.ydoc))
      expect(other.getText('t').toString()).toBe(doc.ydoc.getText('t').toString())
      expect(other.getMap('m').toJSON()).toEqual(doc.ydoc.getMap('m').toJSON())
    }
    // And the document still serves newcomers.
    const late = join(doc)
    doc.handleSyncStep1(late, new Uint8Array([0]))
    expect(mirror(late.frames).getText('t').toString()).toBe(doc.ydoc.getText('t').toString())
  })
})
