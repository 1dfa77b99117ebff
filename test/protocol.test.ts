/**
 * The sync endpoint's wire behaviour (docs/protocol.md), seen byte by byte from a
 * raw socket, next to stock y-websocket clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { QuireProcess } from '../harness/quire.js'
import { fleet } from './helpers/fleet.js'
import { whenAwareness, whenDoc, whenSynced, type TestClient } from './helpers/clients.js'
import { anyFrame, openRaw } from './helpers/raw-socket.js'
import {
  EMPTY_AWARENESS, QUERY_AWARENESS, awarenessFrame, encodeSyncStep1, encodeSyncStep2, encodeUpdate, isType,
  readAwareness, readServerFrame, textUpdate,
} from './helpers/frames.js'
import { within } from './helpers/wait.js'
import { tickMs } from '../server/app.js'
import { loadConfig } from '../server/config.js'

/** Low enough to watch several keep-alives within a test. */
const KEEPALIVE_MS = 250

const { start, client: fleetClient, stopAll } = fleet()
let quire: QuireProcess
const client = (doc: string): TestClient => fleetClient(quire, doc)

beforeAll(async () => { quire = await start({ KEEPALIVE_MS: String(KEEPALIVE_MS) }) })
afterAll(stopAll)

describe('on connect', () => {
  it('the server sends its sync step 1, then the awareness states it holds', async () => {
    const a = client('proto/connect')
    await whenSynced(a, 'Alice to sync')
    a.text.insert(0, 'already here')
    a.provider.awareness.setLocalStateField('user', { name: 'Alice' })
    const seen = client('proto/connect')
    await whenAwareness(seen, (s) => s.has(a.doc.clientID), 'a second client to see Alice\'s presence (the server holds it)')
    await whenDoc(seen.doc, () => seen.text.toString() === 'already here', 'a second client to get Alice\'s text (the server holds it)')

    const raw = await openRaw(`${quire.wsUrl}/proto/connect`)
    await raw.next(isType('awareness'), 'the awareness states after the server\'s step 1')
    const [first, second] = raw.frames.map(readServerFrame)
    expect(first.type).toBe('sync-step1')
    // Its state vector is the document's: the client can answer with what the server lacks.
    expect(first.type === 'sync-step1' && Y.decodeStateVector(first.payload)).toEqual(Y.decodeStateVector(Y.encodeStateVector(a.doc)))
    expect(second.type).toBe('awareness')
    const states = readAwareness(second.type === 'awareness' ? second.payload : new Uint8Array())
    expect(states.get(a.doc.clientID)).toEqual({ user: { name: 'Alice' } })

    // And its own step 1 is answered with a step 2 holding the document.
    raw.send(encodeSyncStep1(new Uint8Array([0])))
    const step2 = readServerFrame(await raw.next(isType('sync-step2'), 'the sync step 2 answering our step 1'))
    const doc = new Y.Doc()
    Y.applyUpdate(doc, step2.type === 'sync-step2' ? step2.payload : new Uint8Array())
    expect(doc.getText('t').toString()).toBe('already here')
    raw.ws.close()
  })

  it('a stock client that edited offline pushes its edits (it got the server step 1)', async () => {
    const a = client('proto/offline')
    await whenSynced(a, 'the online client to sync')
    const b = client('proto/offline')
    b.provider.disconnect()
    b.text.insert(0, 'typed offline')
    b.provider.connect()
    await whenDoc(a.doc, () => a.text.toString() === 'typed offline', 'the edit made offline to reach the online client')
  })
})

describe('messages', () => {
  it('query-awareness is answered with every state the server holds', async () => {
    const a = client('proto/query')
    a.provider.awareness.setLocalStateField('user', { name: 'Ann' })
    const raw = await openRaw(`${quire.wsUrl}/proto/query`)
    await raw.next(isType('sync-step1'), 'the server\'s sync step 1')
    // Make sure the server has Ann's state, then ask.
    const b = client('proto/query')
    await whenAwareness(b, (s) => s.has(a.doc.clientID), 'another client to see Ann (the server holds her state)')
    const before = raw.frames.length
    raw.send(QUERY_AWARENESS)
    // (Other awareness traffic may arrive meanwhile, e.g. b's empty state.)
    const statesIn = (f: Uint8Array): Map<number, unknown> => {
      const m = readServerFrame(f)
      return m.type === 'awareness' ? readAwareness(m.payload) : new Map()
    }
    const answer = await raw.next((f) => raw.frames.indexOf(f) >= before && statesIn(f).has(a.doc.clientID), 'an awareness update with Ann\'s state after the query')
    expect(statesIn(answer).get(a.doc.clientID)).toEqual({ user: { name: 'Ann' } })
    raw.ws.close()
  })

  it('query-awareness on a document with no states gets an empty awareness update', async () => {
    const raw = await openRaw(`${quire.wsUrl}/proto/query-empty`)
    await raw.next(isType('sync-step1'), 'the server\'s sync step 1')
    const before = raw.frames.length
    raw.send(QUERY_AWARENESS)
    const answer = await raw.next((f) => raw.frames.indexOf(f) >= before, 'the answer to the awareness query')
    expect([...answer]).toEqual([...EMPTY_AWARENESS])
    raw.ws.close()
  })

  it('every frame the server sends holds exactly one y-protocols message, and none of the Quire extensions', async () => {
    const raw = await openRaw(`${quire.wsUrl}/proto/frames`)
    const a = client('proto/frames')
    const b = client('proto/frames')
    await Promise.all([whenSynced(a, 'writer a to sync'), whenSynced(b, 'writer b to sync')])
    // Plenty of traffic of every kind, from two writers in the same turns.
    for (let i = 0; i < 100; i++) {
      a.text.insert(0, 'a')
      b.text.insert(0, 'b')
      if (i % 10 === 0) a.provider.awareness.setLocalStateField('n', i)
    }
    raw.send(encodeSyncStep1(new Uint8Array([0])))
    raw.send(QUERY_AWARENESS)
    const mirror = new Y.Doc()
    const sawAll = whenDoc(mirror, () => mirror.getText('t').length === 200, 'all 200 characters in the frames the raw socket received')
    const apply = (f: Uint8Array): void => {
      const m = readServerFrame(f)
      if (m.type === 'update' || m.type === 'sync-step2') Y.applyUpdate(mirror, m.payload)
    }
    raw.frames.forEach(apply)
    raw.ws.on('message', (data: Buffer) => apply(new Uint8Array(data)))
    await sawAll
    // readServerFrame throws on a second message in a frame or an unknown type.
    const kinds = new Set(raw.frames.map((f) => readServerFrame(f).type))
    expect(kinds).toContain('update')
    expect(kinds).toContain('awareness')
    for (const kind of kinds) expect(['sync-step1', 'sync-step2', 'update', 'awareness']).toContain(kind)
    raw.ws.close()
  })

  it('?ack=1 clients get the session message first, then cumulative acknowledgements', async () => {
    const raw = await openRaw(`${quire.wsUrl}/proto/acks?ack=1`)
    const first = readServerFrame(await raw.next(anyFrame, 'the first frame'))
    expect(first).toEqual({ type: 'session', info: { access: 'write' } })
    await raw.next(isType('sync-step1'), 'the server\'s sync step 1')
    // Three update-carrying messages, one of them empty: all counted, in order.
    raw.send(encodeUpdate(textUpdate('one')))
    raw.send(encodeSyncStep2(new Uint8Array([0, 0])))
    raw.send(encodeUpdate(textUpdate('two')))
    await raw.next((f) => { const m = readServerFrame(f); return m.type === 'ack' && m.count === 3 }, 'the acknowledgement of all three updates')
    const counts = raw.frames.map(readServerFrame).flatMap((m) => m.type === 'ack' ? [m.count] : [])
    expect(counts).toEqual([...counts].sort((x, y) => x - y))
    raw.ws.close()
  })
})

describe('keep-alive', () => {
  it('an idle client keeps receiving messages (empty awareness updates)', async () => {
    const raw = await openRaw(`${quire.wsUrl}/proto/idle`)
    await raw.next(isType('sync-step1'), 'the server\'s sync step 1')
    const start = raw.frames.length
    // The client sends nothing at all; three keep-alives must arrive anyway.
    const keepAlives = (): number => raw.frames.slice(start).filter((f) => f.length === 3 && f.every((b, i) => b === EMPTY_AWARENESS[i])).length
    await raw.until(() => keepAlives() >= 3, `three keep-alives (one per ${KEEPALIVE_MS} ms) to a client that sends nothing`)
    raw.ws.close()
  })

  it('with the default settings the longest silence stays under 15 s (docs/protocol.md, "Keep-alive")', () => {
    for (const keepAlive of [loadConfig({}).KEEPALIVE_MS, 12_000 /* the largest allowed */]) {
      expect(keepAlive + tickMs(keepAlive)).toBeLessThanOrEqual(15_000)
    }
    expect(() => loadConfig({ KEEPALIVE_MS: '20000' })).toThrow(/KEEPALIVE_MS/)
  })
})

describe('awareness on close', () => {
  // Well under the 30 s after which clients drop outdated states themselves
  // (and the 15 s between a client's renewals): a removal or reappearance
  // seen within it came from the server.
  const FROM_THE_SERVER_MS = 10_000

  it('when a connection drops without a word, the others learn at once that its states are gone', async () => {
    const b = client('proto/drop')
    await whenSynced(b, 'the watching client to sync')
    for (const how of ['terminate', 'close'] as const) {
      const raw = await openRaw(`${quire.wsUrl}/proto/drop`)
      const id = 777_000 + (how === 'close' ? 1 : 0)
      raw.send(awarenessFrame(id, 1, JSON.stringify({ user: { name: 'Ghost' } })))
      await whenAwareness(b, (s) => s.has(id), `the watcher to see the raw client's state (${how})`)
      if (how === 'terminate') raw.ws.terminate()
      else raw.ws.close()
      await whenAwareness(b, (s) => !s.has(id), `the raw client's state to go from the watcher after a ${how}`, FROM_THE_SERVER_MS)
    }
  })

  it('a client that reconnects is seen again at once, though its awareness clock did not move', async () => {
    const a = client('proto/rejoin')
    const b = client('proto/rejoin')
    await Promise.all([whenSynced(a, 'the returning client to sync'), whenSynced(b, 'the watcher to sync')])
    a.provider.awareness.setLocalStateField('user', { name: 'Returning' })
    const id = a.doc.clientID
    await whenAwareness(b, (s) => s.has(id), 'the watcher to see the returning client')
    // The connection drops (not a goodbye: the provider reconnects by itself).
    ;(a.provider.ws as unknown as { terminate (): void }).terminate()
    const goneAndBack = async (): Promise<void> => {
      await whenAwareness(b, (s) => !s.has(id), 'the dropped client\'s state to go from the watcher')
      await whenAwareness(b, (s) => (s.get(id)?.user as { name?: string } | undefined)?.name === 'Returning', 'the reconnected client to be seen again')
    }
    // Both well before its next renewal, 15 s after it set its state.
    await within(goneAndBack(), FROM_THE_SERVER_MS, 'the dropped client to be removed and then seen again')
    // And its later changes still get through.
    a.provider.awareness.setLocalStateField('typing', true)
    await whenAwareness(b, (s) => s.get(id)?.typing === true, 'the reconnected client\'s next change (typing) to reach the watcher')
  })
})
