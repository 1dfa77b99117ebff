/**
 * The DocStore contract (server/backend/store.ts), as one suite that every
 * store implementation runs: the embedded LevelStore and the MemoryStore
 * here (test/store.test.ts), the Redis store in its own test file:
 *
 *   import { runStoreContract } from './store-contract.js'
 *   runStoreContract('RedisStore', { open: async () => ..., reopen: async (old) => ... })
 *
 * `open` returns a ready store; the suite uses fresh random document names,
 * so a store shared between tests is fine. `reopen`, when given, closes the
 * store and opens a new one on the same data (to check durability).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import * as Y from 'yjs'
import type { DocStore, VersionInfo } from '../server/backend/store.js'
import { waitFor } from './helpers/wait.js'

export interface StoreHarness {
  open (): Promise<DocStore>
  reopen?: (store: DocStore) => Promise<DocStore>
}

/** Small real Yjs updates: one insert each into Y.Text "t". */
function edits (count: number, text = 'x'): { updates: Uint8Array[], doc: Y.Doc } {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  for (let i = 0; i < count; i++) doc.getText('t').insert(doc.getText('t').length, text)
  return { updates, doc }
}

function replay (updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc()
  for (const u of updates) Y.applyUpdate(doc, u)
  return doc
}

const bytesOf = (updates: Uint8Array[]): number => updates.reduce((n, u) => n + u.length, 0)
const asArrays = (updates: Uint8Array[]): number[][] => updates.map((u) => [...u])

export function runStoreContract (label: string, harness: StoreHarness): void {
  describe(`DocStore contract: ${label}`, () => {
    const opened: DocStore[] = []
    const open = async (): Promise<DocStore> => {
      const store = await harness.open()
      opened.push(store)
      return store
    }
    const fresh = (prefix = 'doc'): string => `${prefix}-${randomBytes(6).toString('hex')}`
    afterAll(async () => {
      for (const s of opened) await s.close().catch(() => {})
    })

    it('an unknown document loads empty, at no position', async () => {
      const store = await open()
      expect(await store.load(fresh())).toEqual({ updates: [], position: null, bytes: 0 })
    })

    it('appends come back in order, byte for byte, with the last position and the byte count', async () => {
      const store = await open()
      const name = fresh()
      const { updates } = edits(20)
      let last = ''
      for (let i = 0; i < updates.length; i += 3) last = (await store.append(name, updates.slice(i, i + 3))).position
      const loaded = await store.load(name)
      expect(asArrays(loaded.updates)).toEqual(asArrays(updates))
      expect(loaded.position).toBe(last)
      expect(loaded.bytes).toBe(bytesOf(updates))
    })

    it('binary content of any byte value and of a megabyte survives', async () => {
      const store = await open()
      const name = fresh()
      const all = Uint8Array.from({ length: 256 }, (_, i) => i)
      const big = new Uint8Array(randomBytes(1 << 20))
      await store.append(name, [all, big])
      const loaded = await store.load(name)
      expect(Buffer.compare(loaded.updates[0], all)).toBe(0)
      expect(Buffer.compare(loaded.updates[1], big)).toBe(0)
    })

    it('documents are kept apart, including names that prefix one another and unusual characters', async () => {
      const store = await open()
      const base = fresh()
      const names = [base, `${base}/a`, `${base}a`, `${base}/a/b`, `${base} ü 日本 🎉`, `${base}:*?`]
      await Promise.all(names.map((n, i) => store.append(n, [new Uint8Array([i, i, i])])))
      for (const [i, n] of names.entries()) {
        expect(asArrays((await store.load(n)).updates)).toEqual([[i, i, i]])
      }
    })

    it('positions grow: each append ends after the one before', async () => {
      const store = await open()
      const name = fresh()
      const positions: string[] = []
      for (const u of edits(5).updates) positions.push((await store.append(name, [u])).position)
      expect(new Set(positions).size).toBe(5)
      // The load position is the last append's, whatever the store's format.
      expect((await store.load(name)).position).toBe(positions[4])
    })

    it('concurrent appends to many documents are all durable, each document in its own order', async () => {
      const store = await open()
      const docs = Array.from({ length: 20 }, () => ({ name: fresh('many'), ...edits(25) }))
      // All queued at once: the store may batch them, but must keep each document's order.
      await Promise.all(docs.flatMap((d) => d.updates.map((u) => store.append(d.name, [u]))))
      for (const d of docs) {
        const loaded = await store.load(d.name)
        expect(replay(loaded.updates).getText('t').toString()).toBe(d.doc.getText('t').toString())
        expect(asArrays(loaded.updates)).toEqual(asArrays(d.updates))
      }
    })

    it('compact replaces everything up to the position with the snapshot', async () => {
      const store = await open()
      const name = fresh()
      const { updates, doc } = edits(50)
      await store.append(name, updates)
      const { position } = await store.load(name)
      const snapshot = Y.encodeStateAsUpdate(doc)
      await store.compact(name, snapshot, position!)
      const loaded = await store.load(name)
      expect(asArrays(loaded.updates)).toEqual([[...snapshot]])
      expect(loaded.bytes).toBe(snapshot.length)
      expect(loaded.position).not.toBeNull()
      // Appends continue after a compaction.
      const more = edits(1, 'y').updates
      const after = await store.append(name, more)
      const again = await store.load(name)
      expect(again.updates.length).toBe(2)
      expect(again.position).toBe(after.position)
    })

    it('compact keeps what was appended after its position, even while appends race it', async () => {
      const store = await open()
      const name = fresh()
      const { updates, doc } = edits(60)
      await store.append(name, updates.slice(0, 30))
      const { position: through } = await store.load(name)
      const snapshot = Y.encodeStateAsUpdate(replay(updates.slice(0, 30)))
      // Appended before the compaction is issued, and at the same time as it.
      await store.append(name, updates.slice(30, 40))
      await Promise.all([
        store.compact(name, snapshot, through!),
        ...updates.slice(40).map((u) => store.append(name, [u])),
      ])
      const loaded = await store.load(name)
      expect(replay(loaded.updates).getText('t').toString()).toBe(doc.getText('t').toString())
      expect(loaded.updates.length).toBe(1 + 30)
    })

    it('compacting twice, and compacting at the last position with nothing new, are fine', async () => {
      const store = await open()
      const name = fresh()
      const { updates, doc } = edits(10)
      await store.append(name, updates)
      const { position } = await store.load(name)
      const snapshot = Y.encodeStateAsUpdate(doc)
      await store.compact(name, snapshot, position!)
      const { position: p2 } = await store.load(name)
      await store.compact(name, snapshot, p2!)
      const loaded = await store.load(name)
      expect(asArrays(loaded.updates)).toEqual([[...snapshot]])
    })

    it('exists once something is stored; create writes only into a document that does not exist', async () => {
      const store = await open()
      const name = fresh('create')
      expect(await store.exists(name)).toBe(false)
      const [first, second] = edits(2).updates
      expect(await store.create(name, first)).toBe(true)
      expect(await store.exists(name)).toBe(true)
      expect(await store.create(name, second)).toBe(false)
      expect(asArrays((await store.load(name)).updates)).toEqual(asArrays([first]))
      // A document made by an append exists too.
      const appended = fresh('create')
      await store.append(appended, [second])
      expect(await store.create(appended, first)).toBe(false)
      expect(asArrays((await store.load(appended)).updates)).toEqual(asArrays([second]))
    })

    it('racing creates of one document: exactly one wins, and it is what is stored', async () => {
      const store = await open()
      const name = fresh('race')
      const candidates = Array.from({ length: 8 }, (_, i) => new Uint8Array([i, i]))
      const results = await Promise.all(candidates.map((u) => store.create(name, u)))
      expect(results.filter(Boolean)).toHaveLength(1)
      const winner = candidates[results.indexOf(true)]
      expect(asArrays((await store.load(name)).updates)).toEqual(asArrays([winner]))
    })

    it('a create racing appends to the same document never writes after them', async () => {
      const store = await open()
      const name = fresh('race')
      const { updates } = edits(5)
      const [created] = await Promise.all([store.create(name, new Uint8Array([9, 9])), ...updates.map((u) => store.append(name, [u]))])
      const loaded = asArrays((await store.load(name)).updates)
      // Either it came first (then the appends follow), or it wrote nothing.
      if (created) expect(loaded[0]).toEqual([9, 9])
      else expect(loaded).toEqual(asArrays(updates))
      expect(loaded.length).toBe(updates.length + (created ? 1 : 0))
    })

    it('delete removes everything, compacted or not; the name can be created again', async () => {
      const store = await open()
      const name = fresh('delete')
      const { updates, doc } = edits(10)
      await store.append(name, updates)
      const { position } = await store.load(name)
      await store.compact(name, Y.encodeStateAsUpdate(doc), position!)
      await store.append(name, edits(1, 'y').updates)
      expect(await store.delete(name)).toBe(true)
      expect(await store.exists(name)).toBe(false)
      expect(await store.load(name)).toEqual({ updates: [], position: null, bytes: 0 })
      expect((await store.list(name, null, 10)).documents).toEqual([])
      expect(await store.delete(name)).toBe(false)
      expect(await store.create(name, new Uint8Array([1, 2]))).toBe(true)
      expect(asArrays((await store.load(name)).updates)).toEqual([[1, 2]])
    })

    it('list pages through the names with a prefix, in byte order, with sizes and change times', async () => {
      const store = await open()
      const base = fresh('list')
      const names = [`${base}/b`, `${base}/a`, `${base}/a/b`, `${base}/ü`, `${base}/日本`, `${base}/z`, `${base}x`]
      const before = Date.now()
      for (const [i, n] of names.entries()) await store.append(n, [new Uint8Array(i + 1)])
      const seen: string[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const page: Awaited<ReturnType<DocStore['list']>> = await store.list(`${base}/`, cursor, 2)
        expect(page.documents.length).toBeLessThanOrEqual(2)
        for (const d of page.documents) {
          seen.push(d.name)
          expect(d.bytes).toBe(names.indexOf(d.name) + 1)
          if (d.updatedAt !== null) expect(d.updatedAt).toBeGreaterThanOrEqual(before - 5_000)
        }
        cursor = page.cursor
        pages++
      } while (cursor !== null && pages < 10)
      const expected = names.filter((n) => n.startsWith(`${base}/`)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      expect(seen).toEqual(expected)
      expect(pages).toBe(3)
      // Exactly a page's worth: no empty page after it.
      const all = await store.list(`${base}/`, null, expected.length)
      expect(all.documents.map((d) => d.name)).toEqual(expected)
      expect(all.cursor).toBeNull()
      expect((await store.list(`${base}-nothing`, null, 5))).toEqual({ documents: [], cursor: null })
    })

    it('a document deleted and written again at once still has a change time', async () => {
      const store = await open()
      const name = fresh('again')
      await store.append(name, [new Uint8Array([1])])
      const first = (await store.list(name, null, 1)).documents[0]
      if (first.updatedAt === null) return // this store keeps no times
      await store.delete(name)
      await store.append(name, [new Uint8Array([2])])
      const [again] = (await store.list(name, null, 1)).documents
      expect(again.name).toBe(name)
      expect(again.updatedAt).not.toBeNull()
    })

    it('reports ready while it serves', async () => {
      const store = await open()
      expect(await store.isReady()).toBe(true)
    })

    describe('versions', () => {
      const at = (minutesAgo: number): number => Date.now() - minutesAgo * 60_000
      const ids = (list: VersionInfo[]): string[] => list.map((v) => v.id)

      it('a version comes back byte for byte with its record; an unknown id is null', async () => {
        const store = await open()
        const name = fresh()
        const state = new Uint8Array(randomBytes(1 << 20))
        state.set(Uint8Array.from({ length: 256 }, (_, i) => i))
        const when = at(5)
        const info = await store.putVersion(name, { at: when, reason: 'manual', label: 'Draft « 1 »\nsecond line', by: { id: 'u1', name: 'Ann' } }, state)
        expect(info).toEqual({ id: info.id, at: when, reason: 'manual', label: 'Draft « 1 »\nsecond line', by: { id: 'u1', name: 'Ann' }, users: [], bytes: state.length })
        const got = await store.getVersion(name, info.id)
        expect(got?.info).toEqual(info)
        expect(Buffer.compare(got!.state, state)).toBe(0)
        expect(await store.getVersion(name, '000000000000-00000000')).toBeNull()
        expect(await store.getVersion(fresh(), info.id)).toBeNull()
      })

      it('lists newest first, in pages, each document apart (names that prefix one another too)', async () => {
        const store = await open()
        const name = fresh()
        const other = `${name}/a`
        const made: VersionInfo[] = []
        for (let i = 0; i < 7; i++) made.push(await store.putVersion(name, { at: at(70 - i * 10), reason: 'auto' }, new Uint8Array([i, 0])))
        await store.putVersion(other, { at: at(1), reason: 'auto' }, new Uint8Array([9, 9]))
        await store.putVersion(`${name}a`, { at: at(1), reason: 'auto' }, new Uint8Array([8, 8]))
        const newestFirst = ids(made).reverse()
        expect(ids(await store.listVersions(name))).toEqual(newestFirst)
        const first = await store.listVersions(name, { limit: 3 })
        expect(ids(first)).toEqual(newestFirst.slice(0, 3))
        const second = await store.listVersions(name, { limit: 3, before: first[2].id })
        expect(ids(second)).toEqual(newestFirst.slice(3, 6))
        expect(ids(await store.listVersions(name, { before: second[2].id }))).toEqual(newestFirst.slice(6))
        expect(await store.listVersions(name, { before: made[0].id })).toEqual([])
        expect((await store.listVersions(other)).length).toBe(1)
        expect(await store.listVersions(fresh())).toEqual([])
      })

      it('the editors noted since the last version become the next one\'s users, once', async () => {
        const store = await open()
        const name = fresh()
        const v0 = await store.putVersion(name, { at: at(3), reason: 'auto' }, new Uint8Array([0, 0]))
        expect(v0.users).toEqual([])
        await store.noteEditors(name, [{ id: 'ann', name: 'Ann' }, { id: 'bob' }])
        await store.noteEditors(name, [{ id: 'ann', name: 'Ann' }, { id: 'weird\u0000id 日本', name: 'line\nbreak' }])
        await store.noteEditors(fresh(), [{ id: 'elsewhere' }])
        const v1 = await store.putVersion(name, { at: at(2), reason: 'auto' }, new Uint8Array([1, 0]))
        const byId = (users: VersionInfo['users']) => [...users].sort((a, b) => a.id.localeCompare(b.id))
        expect(byId(v1.users)).toEqual(byId([{ id: 'ann', name: 'Ann' }, { id: 'bob' }, { id: 'weird\u0000id 日本', name: 'line\nbreak' }]))
        const v2 = await store.putVersion(name, { at: at(1), reason: 'before-put' }, new Uint8Array([2, 0]))
        expect(v2.users).toEqual([])
        expect(byId((await store.getVersion(name, v1.id))!.info.users)).toEqual(byId(v1.users))
        expect((await store.listVersions(name)).map((v) => v.users.length)).toEqual([0, 3, 0])
      })

      it('an editor noted while a version is being taken ends up in exactly one version', async () => {
        const store = await open()
        const name = fresh()
        await store.noteEditors(name, [{ id: 'early' }])
        const [v1] = await Promise.all([
          store.putVersion(name, { at: at(2), reason: 'auto' }, new Uint8Array([1, 0])),
          store.noteEditors(name, [{ id: 'racing' }]),
        ])
        const v2 = await store.putVersion(name, { at: at(1), reason: 'auto' }, new Uint8Array([2, 0]))
        const all = [...v1.users, ...v2.users].map((u) => u.id).sort()
        expect(all).toEqual(['early', 'racing'])
        expect(v1.users.map((u) => u.id)).toContain('early')
      })

      it('deleting versions forgets them (unknown ids are ignored); the log is never touched', async () => {
        const store = await open()
        const name = fresh()
        const { updates } = edits(5)
        await store.append(name, updates)
        const made: VersionInfo[] = []
        for (let i = 0; i < 4; i++) made.push(await store.putVersion(name, { at: at(10 - i), reason: 'auto' }, new Uint8Array([i, 1])))
        await store.deleteVersions(name, [made[0].id, made[2].id, '000000000000-00000000'])
        expect(ids(await store.listVersions(name))).toEqual([made[3].id, made[1].id])
        expect(await store.getVersion(name, made[0].id)).toBeNull()
        await store.deleteVersions(name, [])
        // Versions are not log entries, and compaction leaves them alone.
        const loaded = await store.load(name)
        expect(asArrays(loaded.updates)).toEqual(asArrays(updates))
        await store.compact(name, Y.encodeStateAsUpdate(replay(updates)), loaded.position!)
        expect(ids(await store.listVersions(name))).toEqual([made[3].id, made[1].id])
      })

      it('one claim of the next automatic version at a time, until released or expired', async () => {
        const store = await open()
        const name = fresh()
        const first = await store.claimVersion(name, 60_000)
        expect(first).not.toBeNull()
        expect(await store.claimVersion(name, 60_000)).toBeNull()
        expect(await store.claimVersion(fresh(), 60_000)).not.toBeNull()
        await first!.release()
        const short = await store.claimVersion(name, 200)
        expect(short).not.toBeNull()
        expect(await store.claimVersion(name, 200)).toBeNull()
        // Each probe is a claim itself: the first that succeeds is the one after expiry.
        const next = await waitFor(() => store.claimVersion(name, 60_000), (won) => won !== null, 'the claim to expire')
        // The expired holder giving up does not free the claim someone else holds now.
        await short!.release()
        expect(await store.claimVersion(name, 60_000)).toBeNull()
        await next!.release()
        expect(await store.claimVersion(name, 60_000)).not.toBeNull()
      })
    })

    if (harness.reopen) {
      const reopen = harness.reopen
      it('versions and noted editors are there after closing and opening again', async () => {
        const store = await open()
        const name = fresh()
        const v = await store.putVersion(name, { at: Date.now(), reason: 'manual', label: 'kept' }, new Uint8Array([7, 7, 7]))
        await store.noteEditors(name, [{ id: 'pending', name: 'P' }])
        const next = await reopen(store)
        opened.push(next)
        expect((await next.listVersions(name)).map((i) => i.id)).toEqual([v.id])
        expect([...(await next.getVersion(name, v.id))!.state]).toEqual([7, 7, 7])
        expect((await next.putVersion(name, { at: Date.now(), reason: 'auto' }, new Uint8Array([8, 8]))).users).toEqual([{ id: 'pending', name: 'P' }])
      })

      it('everything appended or compacted is there after closing and opening again', async () => {
        const store = await open()
        const a = fresh()
        const b = fresh()
        const ea = edits(30)
        const eb = edits(5, 'z')
        await store.append(a, ea.updates)
        const { position } = await store.load(a)
        await store.compact(a, Y.encodeStateAsUpdate(ea.doc), position!)
        await store.append(b, eb.updates)
        const next = await reopen(store)
        opened.push(next)
        expect(replay((await next.load(a)).updates).getText('t').toString()).toBe(ea.doc.getText('t').toString())
        expect(asArrays((await next.load(b)).updates)).toEqual(asArrays(eb.updates))
        // And positions keep growing across the restart.
        const before = (await next.load(b)).position
        const after = (await next.append(b, [new Uint8Array([0, 0])])).position
        expect(after).not.toBe(before)
        expect((await next.load(b)).position).toBe(after)
      })
    }
  })
}
