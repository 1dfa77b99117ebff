/**
 * The smaller rooms of a document, each alone: update-check.ts (what a
 * client's update may do), cold-start.ts (serving stored bytes before the
 * Y.Doc exists) and compaction.ts (when to fold the log).
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { checkUpdate, integrate } from '../../server/document/update-check.js'
import { ColdStart } from '../../server/document/cold-start.js'
import { Compaction, COMPACT_ENTRIES } from '../../server/document/compaction.js'
import { MemoryStore } from '../../server/backend/memory-store.js'
import { createLogger } from '../../server/ops/log.js'
import { FakePeer } from '../helpers/fake-peer.js'
import { readServerFrame, richDoc } from '../helpers/frames.js'
import { forEachSeed, prng } from '../helpers/seeded.js'

describe('update-check', () => {
  it('seeded: a refused update leaves the document untouched; an accepted one yields what Yjs took', () => {
    // A fixed client id: the same seed mutates the same bytes.
    const { doc: source } = richDoc(424242)
    const valid = Y.encodeStateAsUpdate(source)
    // Each mutated update goes into a fresh copy of a document that already has content.
    const base = Y.encodeStateAsUpdate(richDoc(111).doc)
    return forEachSeed((gen) => {
      let refused = 0
      let replayed = 0
      for (let i = 0; i < 50; i++) {
        const target = new Y.Doc()
        Y.applyUpdate(target, base)
        const u = Uint8Array.from(valid)
        for (let k = prng.int32(gen, 0, 3); k > 0; k--) u[prng.int32(gen, 0, u.length - 1)] = prng.int32(gen, 0, 255)
        const before = Y.encodeStateAsUpdate(target)
        const checked = checkUpdate(u)
        if ('refused' in checked) {
          refused++
          expect(Y.encodeStateAsUpdate(target)).toEqual(before)
          continue
        }
        let taken: Uint8Array | null
        try {
          taken = integrate(target, u, null)
        } catch {
          continue // Yjs threw half-way: the document layer taints itself (test/document.test.ts)
        }
        // The state before plus what was taken (what the store would hold)
        // replays to what a fresh copy of the document holds now. Checked
        // while nothing is pending: garbage that leaves structs waiting for
        // dependencies that never come may replay differently (a known limit:
        // honest edits always survive, test/fuzz.test.ts).
        if (target.store.pendingStructs !== null || target.store.pendingDs !== null) continue
        replayed++
        const replay = new Y.Doc()
        Y.applyUpdate(replay, before)
        if (taken) Y.applyUpdate(replay, taken)
        const fresh = new Y.Doc()
        Y.applyUpdate(fresh, Y.encodeStateAsUpdate(target))
        // (By content: garbage may leave structs pending in one and not the other.)
        expect(replay.getText('t').toString()).toBe(fresh.getText('t').toString())
        expect(replay.getMap('m').toJSON()).toEqual(fresh.getMap('m').toJSON())
        expect(replay.getArray('a').toJSON()).toEqual(fresh.getArray('a').toJSON())
      }
      expect(refused).toBeGreaterThan(0)
      expect(replayed).toBeGreaterThan(0)
    })
  })

  it('counts an update\'s structs and delete ranges without applying it', () => {
    const doc = new Y.Doc()
    const text = doc.getText('t')
    text.insert(0, 'abcdefghij')
    const sv = Y.encodeStateVector(doc)
    doc.transact(() => { for (let i = 8; i >= 0; i -= 2) text.delete(i, 1) })
    const update = Y.encodeStateAsUpdate(doc, sv)
    const checked = checkUpdate(update)
    expect(checked).toEqual({ cost: { structs: 0, deleteRanges: 5 } })
    expect(checkUpdate(new Uint8Array([1, 2, 3]))).toEqual({ refused: 'malformed' })
  })

  it('an update waiting for a missing dependency is still taken whole (it is durable before its dependency arrives)', () => {
    const a = new Y.Doc()
    const first: Uint8Array[] = []
    a.on('update', (u: Uint8Array) => first.push(u))
    a.getText('t').insert(0, 'one')
    a.getText('t').insert(3, 'two')
    const target = new Y.Doc()
    const taken = integrate(target, first[1], null)
    expect(taken).not.toBeNull()
    expect(target.getText('t').toString()).toBe('')
    // Whoever stores `taken` and later gets the first update ends up whole.
    const replay = new Y.Doc()
    Y.applyUpdate(replay, taken!)
    Y.applyUpdate(replay, first[0])
    expect(replay.getText('t').toString()).toBe('onetwo')
  })
})

describe('cold start', () => {
  /** Three entries typed by one client, the second deleting part of the first. */
  const stored = (): { updates: Uint8Array[], doc: Y.Doc } => {
    const d = new Y.Doc()
    const updates: Uint8Array[] = []
    d.on('update', (u: Uint8Array) => updates.push(u))
    d.getText('t').insert(0, 'abcdef')
    d.getText('t').delete(1, 2)
    d.getText('t').insert(4, 'g')
    return { updates, doc: d }
  }
  const frameTypes = (p: FakePeer): string[] => p.frames.map((f) => readServerFrame(f).type)

  it('answers from the stored entries, the last as sync step 2; owes step 1 until built to a peer it did not answer', () => {
    const { updates, doc } = stored()
    const cold = new ColdStart(updates)
    const reader = new FakePeer()
    const silent = new FakePeer()
    cold.owe(reader)
    cold.owe(silent)
    cold.answer(reader)
    expect(frameTypes(reader)).toEqual(['update', 'update', 'sync-step2'])
    expect(cold.isCold).toBe(true)
    const built = cold.build()
    expect(cold.isCold).toBe(false)
    expect(built.getText('t').toString()).toBe(doc.getText('t').toString())
    // The answered reader had nothing to offer; the other gets the server's step 1 now.
    expect(frameTypes(reader)).toEqual(['update', 'update', 'sync-step2'])
    expect(frameTypes(silent)).toEqual(['sync-step1'])
    const step1 = readServerFrame(silent.frames[0])
    expect(step1.type === 'sync-step1' ? step1.payload : null).toEqual(Y.encodeStateVector(doc))
  })

  it('a damaged entry throws on build and leaves it cold', () => {
    const cold = new ColdStart([new Uint8Array([9, 9, 9, 9])])
    expect(() => cold.build()).toThrow()
    expect(cold.isCold).toBe(true)
  })
})

describe('compaction', () => {
  it('is due after COMPACT_ENTRIES entries, folds them, and keeps what was stored meanwhile', async () => {
    const store = new MemoryStore()
    const log = createLogger('silent')
    const d = new Y.Doc()
    const updates: Uint8Array[] = []
    d.on('update', (u: Uint8Array) => updates.push(u))
    for (let i = 0; i < COMPACT_ENTRIES; i++) d.getText('t').insert(i, 'x')
    const c = new Compaction(await store.load('doc'), store, 'doc', log)
    let position = ''
    for (const u of updates) {
      position = (await store.append('doc', [u])).position
      c.noteStored([u], position)
    }
    expect(c.due).toBe(true)
    const snapshot = Y.encodeStateAsUpdate(d)
    const running = c.run(() => snapshot)
    // Stored while the compaction runs: kept after it.
    d.getText('t').insert(0, 'late')
    const late = updates.at(-1)!
    c.noteStored([late], (await store.append('doc', [late])).position)
    await running
    expect(c.due).toBe(false)
    const after = await store.load('doc')
    expect(after.updates).toHaveLength(2)
    const replay = new Y.Doc()
    for (const u of after.updates) Y.applyUpdate(replay, u)
    expect(replay.getText('t').toString()).toBe(d.getText('t').toString())
  })
})
