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
import { LocalBus } from '../server/backend/bus.js'
import { createMetrics } from '../server/ops/metrics.js'
import { createLogger } from '../server/ops/log.js'
import { ProtocolError } from '../common/messages.js'
import { GatedStore, gate, nextTurn } from './helpers/gated-store.js'
import { FakePeer } from './helpers/fake-peer.js'
import { readAwareness, readServerFrame, richDoc, textUpdate } from './helpers/frames.js'
import { encodeAwarenessUpdate } from '../common/awareness.js'
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
    await b.until((p) => updatesIn(p).length === 1, 'the update to reach b once durable')
    await a.until((p) => p.acks.length === 1, 'the sender\'s acknowledgement once durable')
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
    await late.until((p) => p.frames.some((f) => readServerFrame(f).type === 'sync-step2'), 'the held sync step 2 once the update is durable')
    expect(mirror(late.frames).getText('t').toString()).toBe('pending')
  })

  it('acknowledgements count every update-carrying message, empty ones included, cumulatively and in order', async () => {
    const { doc } = await setup()
    const a = join(doc)
    doc.handleUpdate(a, textUpdate('one'))
    doc.handleUpdate(a, new Uint8Array([0, 0]))
    await a.until((p) => p.acks.at(-1) === 2, 'the acknowledgement of the first two messages')
    doc.handleUpdate(a, textUpdate('two'))
    doc.handleUpdate(a, textUpdate('three'))
    await a.until((p) => p.acks.at(-1) === 4, 'the acknowledgement of all four messages')
    expect(a.acks).toEqual([...a.acks].sort((x, y) => x - y))
    expect(a.acks.every((n) => n >= 1 && n <= 4)).toBe(true)
  })

  it('an update that brings nothing new costs no write but is still acknowledged', async () => {
    const { store, doc } = await setup()
    const a = join(doc)
    const update = textUpdate('once', 12345)
    doc.handleUpdate(a, update)
    await a.until((p) => p.acks.at(-1) === 1, 'the acknowledgement of the update')
    const appends = store.calls.append
    doc.handleUpdate(a, update)
    await a.until((p) => p.acks.at(-1) === 2, 'the acknowledgement of the same update again')
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
    await b.until((p) => updatesIn(p).length === 1, 'the update to reach b live while the store fails')
    expect(doc.isDegraded).toBe(true)
    // Still live: the next update goes out at once too; a new reader is answered at once.
    doc.handleUpdate(a, textUpdate('more'))
    await b.until((p) => updatesIn(p).length === 2, 'the next update to reach b live too')
    const late = join(doc)
    doc.handleSyncStep1(late, new Uint8Array([0]))
    expect(late.frames.length).toBe(1)
    expect(a.acks).toEqual([])
    store.failAppends = null
    await a.until((p) => p.acks.at(-1) === 2, 'both updates acknowledged once the store is back')
    await doc.whenDurable()
    expect(doc.isDegraded).toBe(false)
    const stored = await store.load('doc')
    const replay = new Y.Doc()
    for (const u of stored.updates) Y.applyUpdate(replay, u)
    expect(replay.getText('t').toString()).toBe(doc.ydoc.getText('t').toString())
  })
})

describe('other instances\' updates', () => {
  it('are relayed at once and in the Y.Doc once its state is needed: a peer joining between gets everything', async () => {
    const { doc } = await setup()
    const reader = join(doc)
    const source = new Y.Doc()
    const remote: Uint8Array[] = []
    source.on('update', (u: Uint8Array) => remote.push(u))
    for (let i = 0; i < 5; i++) source.getText('t').insert(source.getText('t').length, `remote ${i} `)
    // Cached before they arrive: a late joiner must not be answered from it.
    doc.handleSyncStep1(join(doc), new Uint8Array([0]))
    doc.onRemoteUpdates(remote.slice(0, 3))
    doc.onRemoteUpdates(remote.slice(3))
    expect(updatesIn(reader)).toHaveLength(2)
    expect(mirror(reader.frames).getText('t').toString()).toBe(source.getText('t').toString())
    // A new peer with an empty state vector, and one with a vector of its own.
    const late = join(doc)
    doc.handleSyncStep1(late, new Uint8Array([0]))
    expect(mirror(late.frames).getText('t').toString()).toBe(source.getText('t').toString())
    const partial = new Y.Doc()
    Y.applyUpdate(partial, remote[0])
    const other = join(doc)
    doc.handleSyncStep1(other, Y.encodeStateVector(partial))
    for (const f of other.frames) { const m = readServerFrame(f); if (m.type === 'sync-step2') Y.applyUpdate(partial, m.payload) }
    expect(partial.getText('t').toString()).toBe(source.getText('t').toString())
    // A local edit after them lands after them; the state read holds all of it.
    const local = new Y.Doc()
    Y.applyUpdate(local, Y.encodeStateAsUpdate(source))
    const edits: Uint8Array[] = []
    local.on('update', (u: Uint8Array) => edits.push(u))
    local.getText('t').insert(local.getText('t').length, 'local')
    doc.handleUpdate(reader, edits[0])
    const state = new Y.Doc()
    Y.applyUpdate(state, await doc.readState())
    expect(state.getText('t').toString()).toBe(source.getText('t').toString() + 'local')
  })
})

describe('read-only peers', () => {
  it('their updates are not applied, stored or relayed (but acknowledged, so their client is not stuck)', async () => {
    const { store, doc } = await setup()
    const writer = join(doc)
    const reader = join(doc, false)
    doc.handleUpdate(reader, textUpdate('vandalism'))
    await reader.until((p) => p.acks.at(-1) === 1, 'the acknowledgement of the read-only peer\'s update')
    expect(doc.ydoc.getText('t').toString()).toBe('')
    expect(store.calls.append).toBe(0)
    expect(updatesIn(writer)).toEqual([])
    // Their awareness is shared like anyone's.
    doc.handleAwareness(reader, new Uint8Array([1, 5, 1, ...new TextEncoder().encode('\u0002{}')]))
    await writer.until((p) => p.frames.some((f) => readServerFrame(f).type === 'awareness'), 'the read-only peer\'s awareness to reach the writer')
  })
})

describe('awareness held by connections', () => {
  const announce = (clientId: number, clock: number, json: string): Uint8Array => encodeAwarenessUpdate([{ clientId, clock, json }])
  const statesSeenBy = (peer: FakePeer): Map<number, unknown> => {
    const states = new Map<number, unknown>()
    for (const f of peer.frames) {
      const m = readServerFrame(f)
      if (m.type !== 'awareness') continue
      for (const [id, state] of readAwareness(m.payload)) if (state === null) states.delete(id); else states.set(id, state)
    }
    return states
  }

  it('a client that reconnects before its old connection\'s close is noticed keeps its state when that close comes', async () => {
    const { doc } = await setup()
    const watcher = join(doc)
    const old = join(doc)
    doc.handleAwareness(old, announce(7, 1, '{"user":"u"}'))
    await watcher.until((p) => statesSeenBy(p).has(7), 'the watcher to see client 7')
    // Reconnected: the same state, same clock, from a new connection.
    const fresh = join(doc)
    doc.handleAwareness(fresh, announce(7, 1, '{"user":"u"}'))
    doc.removePeer(old)
    await nextTurn()
    expect(statesSeenBy(watcher).has(7)).toBe(true)
    // When the connection that holds it goes, it goes.
    doc.removePeer(fresh)
    await watcher.until((p) => !statesSeenBy(p).has(7), 'client 7 to go once the connection holding it goes')
  })

  it('a state another connection merely echoes is not held by it', async () => {
    const { doc } = await setup()
    const owner = join(doc)
    const other = join(doc)
    doc.handleAwareness(other, announce(9, 1, '{}'))
    doc.handleAwareness(owner, announce(7, 1, '{"user":"u"}'))
    // Stock clients re-broadcast states they accept: this is not an announcement.
    doc.handleAwareness(other, announce(7, 1, '{"user":"u"}'))
    await other.until((p) => statesSeenBy(p).has(7), 'the other connection to see client 7')
    doc.removePeer(owner)
    await other.until((p) => !statesSeenBy(p).has(7), 'client 7 to go with its owner, not held by the echo')
  })
})

describe('garbage from clients', () => {
  const valid = Y.encodeStateAsUpdate(richDoc().doc)

  it('what Yjs refuses never touches the document; what it takes is stored and relayed as Yjs encodes it', async () => {
    const { store, doc } = await setup()
    const writer = join(doc)
    const watcher = join(doc)
    let seed = 2
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
    let refused = 0
    let lastAccepted = 0
    for (let i = 0; i < 3000; i++) {
      const u = Uint8Array.from(valid)
      const kind = rnd(5) % 3
      if (kind === 0) for (let k = 0; k <= rnd(4); k++) u[3 + rnd(u.length - 3)] = rnd(256)
      const update = kind === 1 ? u.slice(0, rnd(u.length)) : kind === 2 ? Uint8Array.from({ length: 3 + rnd(40) }, () => rnd(256)) : u
      const before = Y.encodeStateAsUpdate(doc.ydoc)
      try {
        doc.handleUpdate(writer, update)
        lastAccepted = i + 1
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError)
        // Refused means untouched.
        expect(Buffer.compare(Y.encodeStateAsUpdate(doc.ydoc), before)).toBe(0)
        refused++
      }
      // Several updates share a write and a relayed frame now and then.
      if (i % 5 === 0) await nextTurn()
    }
    expect(refused).toBeGreaterThan(1000)
    expect(doc.isTainted).toBe(false)
    // (Acknowledgements count every update message, refused ones too: in a real
    // connection a refused one is the last, as it closes the connection.)
    await writer.until((p) => p.acks.at(-1) === lastAccepted, 'every accepted update to be acknowledged (a stalled pipeline never gets there)', 10_000)
    await doc.whenDurable()
    // Store, a client that saw only the relayed frames, and a newcomer agree.
    // (A newcomer rather than the server's own Y.Doc: Yjs may keep structs
    // pending there that a fresh replay integrates at once.)
    const stored = await store.load('doc')
    const fromStore = new Y.Doc()
    for (const u of stored.updates) Y.applyUpdate(fromStore, u)
    const late = join(doc)
    doc.handleSyncStep1(late, new Uint8Array([0]))
    const fromServer = mirror(late.frames)
    for (const other of [fromStore, mirror(watcher.frames)]) {
      expect(Y.encodeStateVector(other)).toEqual(Y.encodeStateVector(fromServer))
      expect(other.getText('t').toString()).toBe(fromServer.getText('t').toString())
      expect(other.getMap('m').toJSON()).toEqual(fromServer.getMap('m').toJSON())
    }
  })

  it('an update that throws half-way taints the document: nothing of it is stored or relayed, everyone is evicted, and the next open reloads from the store', async () => {
    const { store, doc, registry } = await setup()
    const writer = join(doc)
    const watcher = join(doc)
    doc.handleUpdate(writer, textUpdate('sound'))
    await watcher.until((p) => updatesIn(p).length === 1, 'the sound update to reach the watcher')
    // Yjs throwing after integrating (as it does on some garbage): an observer that throws does just that.
    doc.ydoc.getText('t').observe(() => { throw new Error('boom') })
    expect(() => doc.handleUpdate(writer, textUpdate('half-applied'))).toThrow(ProtocolError)
    expect(doc.isTainted).toBe(true)
    expect(watcher.evicted).toBe(true)
    expect(writer.evicted).toBe(false) // it gets its own close (4400)
    // Nobody new is served from it.
    const newcomer = new FakePeer()
    doc.addPeer(newcomer)
    expect(newcomer.evicted).toBe(true)
    expect(newcomer.frames).toEqual([])
    // Everyone leaves; the next open waits for the unload and loads afresh.
    doc.removePeer(writer)
    doc.removePeer(watcher)
    const reopening = registry.acquire('doc')
    registry.release(doc)
    const fresh = await within(reopening, 10_000, 'a fresh load')
    expect(fresh).not.toBe(doc)
    expect(fresh.ydoc.getText('t').toString()).toBe('sound')
    expect(updatesIn(watcher).length).toBe(1)
    expect(store.calls.compact).toBe(0)
  })
})
