/**
 * The whole document (server/document/document.ts) with real Yjs clients
 * behind a connector that delivers messages in an order a seeded generator
 * picks, in both directions, while the store completes appends when it
 * likes: clients join late, edit, read-only clients try to edit, and in the
 * end every client, the server and a replay of the store hold the same
 * document. Nothing a reader was sent is ever missing from the store at
 * that moment (durable before seen).
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as syncProtocol from 'y-protocols/sync'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { SharedDocument } from '../../server/document/document.js'
import { MemoryStore } from '../../server/backend/memory-store.js'
import { LocalBus } from '../../server/backend/bus.js'
import type { AppendResult } from '../../server/backend/store.js'
import { createMetrics } from '../../server/ops/metrics.js'
import { createLogger } from '../../server/ops/log.js'
import { MESSAGE_SYNC } from '../../common/messages.js'
import { FakePeer } from '../helpers/fake-peer.js'
import { deferred, forEachSeed, prng, settle, type Deferred, type Random } from '../helpers/seeded.js'

/** A store whose appends complete when the test says so. */
class SlowStore extends MemoryStore {
  held: Array<{ name: string, updates: Uint8Array[], done: Deferred<AppendResult> }> = []
  override append (name: string, updates: Uint8Array[]): Promise<AppendResult> {
    const done = deferred<AppendResult>()
    this.held.push({ name, updates, done })
    return done.promise
  }

  release (gen: Random): boolean {
    const i = this.held.findIndex(() => true)
    if (i < 0) return false
    const [h] = this.held.splice(i, 1)
    void super.append(h.name, h.updates).then(h.done.resolve, h.done.reject)
    return prng.bool(gen)
  }

  async replay (name: string): Promise<Y.Doc> {
    const d = new Y.Doc()
    for (const u of (await this.load(name)).updates) Y.applyUpdate(d, u)
    return d
  }
}

interface Client { ydoc: Y.Doc, peer: FakePeer, inbox: Uint8Array[], delivered: number, outbox: Uint8Array[] }

function connect (doc: SharedDocument, canWrite: boolean, clientId: number): Client {
  const ydoc = new Y.Doc()
  ydoc.clientID = clientId
  const peer = new FakePeer(canWrite)
  const client: Client = { ydoc, peer, inbox: peer.frames, delivered: 0, outbox: [] }
  ydoc.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin === 'server') return
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, MESSAGE_SYNC)
    syncProtocol.writeUpdate(e, update)
    client.outbox.push(encoding.toUint8Array(e))
  })
  doc.addPeer(peer)
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, MESSAGE_SYNC)
  syncProtocol.writeSyncStep1(e, ydoc)
  client.outbox.push(encoding.toUint8Array(e))
  return client
}

/** The client reads one frame the server sent it (answering a step 1 as y-protocols does). */
function deliverDown (client: Client): void {
  const frame = client.inbox[client.delivered++]
  const d = decoding.createDecoder(frame)
  if (decoding.readVarUint(d) !== MESSAGE_SYNC) return
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, MESSAGE_SYNC)
  syncProtocol.readSyncMessage(d, e, client.ydoc, 'server')
  if (encoding.length(e) > 1) client.outbox.push(encoding.toUint8Array(e))
}

/** The server reads one frame the client sent (as a connection would). */
function deliverUp (client: Client, doc: SharedDocument): void {
  const frame = client.outbox.shift()!
  const d = decoding.createDecoder(frame)
  decoding.readVarUint(d)
  const sub = decoding.readVarUint(d)
  const payload = decoding.readVarUint8Array(d)
  if (sub === 0) doc.handleSyncStep1(client.peer, payload)
  else doc.handleUpdate(client.peer, payload)
}

describe('a document under random delivery orders', () => {
  it('seeded: clients, server and store converge; nothing is seen before it is stored', async () => {
    await forEachSeed(async (gen) => {
      const store = new SlowStore()
      const doc = new SharedDocument('d', await store.load('d'), { store, bus: new LocalBus(), metrics: createMetrics(), log: createLogger('silent') })
      const clients: Client[] = []
      const readonly = new Set<Client>()
      let nextId = 1
      for (let step = 0; step < 300; step++) {
        const action = prng.int32(gen, 0, 9)
        if (action === 0 && clients.length < 5) {
          const canWrite = prng.int32(gen, 0, 3) > 0
          const c = connect(doc, canWrite, nextId++)
          if (!canWrite) readonly.add(c)
          clients.push(c)
        } else if (action <= 2 && clients.length > 0) {
          const c = prng.oneOf(gen, clients)
          const t = c.ydoc.getText('t')
          if (prng.bool(gen) || t.length === 0) t.insert(prng.int32(gen, 0, t.length), prng.word(gen, 1, 4))
          else t.delete(prng.int32(gen, 0, t.length - 1), 1)
        } else if (action <= 5) {
          const pending = clients.filter((c) => c.delivered < c.inbox.length)
          if (pending.length > 0) {
            const c = prng.oneOf(gen, pending)
            deliverDown(c)
            // Durable before seen: whatever this reader has, a replay of the store has too.
            const stored = await store.replay('d')
            {
              const theirs = Y.encodeStateVector(c.ydoc)
              const sv = Y.decodeStateVector(theirs)
              for (const [client, clock] of sv) {
                const own = clients.find((x) => x.ydoc.clientID === client) === c
                if (!own) expect(Y.getState(stored.store, client), `client ${client}'s content reached a reader before the store`).toBeGreaterThanOrEqual(clock)
              }
            }
          }
        } else if (action <= 7) {
          const pending = clients.filter((c) => c.outbox.length > 0)
          if (pending.length > 0) deliverUp(prng.oneOf(gen, pending), doc)
        } else {
          store.release(gen)
          await settle(2)
        }
      }
      // Drain everything.
      for (let guard = 0; guard < 10_000; guard++) {
        const up = clients.find((c) => c.outbox.length > 0)
        const down = clients.find((c) => c.delivered < c.inbox.length)
        if (up) deliverUp(up, doc)
        else if (down) deliverDown(down)
        else if (store.held.length > 0) store.release(gen)
        else {
          await settle(3)
          if (store.held.length === 0 && !clients.some((c) => c.outbox.length > 0 || c.delivered < c.inbox.length)) break
        }
        await settle(1)
      }
      await doc.whenDurable()
      const server = doc.ydoc.getText('t').toString()
      const fromStore = (await store.replay('d')).getText('t').toString()
      expect(fromStore).toBe(server)
      for (const c of clients) {
        if (readonly.has(c)) continue
        expect(c.ydoc.getText('t').toString(), `client ${c.ydoc.clientID}`).toBe(server)
      }
      // Read-only clients' own edits never reached anyone.
      for (const r of readonly) expect(Y.getState(doc.ydoc.store, r.ydoc.clientID)).toBe(0)
      await doc.destroy(false)
    }, Number(process.env.DOC_SEED_COUNT ?? 12))
  })
})
