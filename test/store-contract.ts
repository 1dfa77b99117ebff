/**
 * The DocStore contract every store passes (embedded, memory, Redis
 * standalone and cluster): append order and positions, loading, compaction
 * that keeps what was appended after the snapshot, isolation of names.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { DocStore } from '../server/store/store.js'

/** Updates that type `text` one character at a time into a Y.Doc. */
export function typing (text: string, doc = new Y.Doc()): Uint8Array[] {
  const updates: Uint8Array[] = []
  const on = (u: Uint8Array): void => { updates.push(u) }
  doc.on('update', on)
  const t = doc.getText('t')
  for (const ch of text) t.insert(t.length, ch)
  doc.off('update', on)
  return updates
}

export function textOf (updates: Uint8Array[]): string {
  const doc = new Y.Doc()
  Y.transact(doc, () => { for (const u of updates) Y.applyUpdate(doc, u) })
  return doc.getText('t').toString()
}

export function storeContract (label: string, open: () => Promise<DocStore>, close: (store: DocStore) => Promise<void> = (s) => s.close()): void {
  describe(`DocStore contract: ${label}`, () => {
    const withStore = async (fn: (store: DocStore) => Promise<void>): Promise<void> => {
      const store = await open()
      try {
        await fn(store)
      } finally {
        await close(store)
      }
    }
    const unique = (base: string): string => `${base}/${Math.random().toString(36).slice(2)}`

    it('loads an unknown document as empty', () => withStore(async (store) => {
      expect(await store.load(unique('contract/empty'))).toEqual({ updates: [], position: null, bytes: 0 })
    }))

    it('appends in order and loads what it appended', () => withStore(async (store) => {
      const name = unique('contract/order')
      const updates = typing('hello')
      const first = await store.append(name, updates.slice(0, 2))
      const second = await store.append(name, updates.slice(2))
      expect(second.position).not.toBe(first.position)
      const loaded = await store.load(name)
      expect(loaded.updates.map((u) => Buffer.from(u).toString('hex'))).toEqual(updates.map((u) => Buffer.from(u).toString('hex')))
      expect(loaded.position).toBe(second.position)
      expect(loaded.bytes).toBe(updates.reduce((n, u) => n + u.length, 0))
      expect(textOf(loaded.updates)).toBe('hello')
    }))

    it('compacts into one snapshot and keeps what was appended after it', () => withStore(async (store) => {
      const name = unique('contract/compact')
      const doc = new Y.Doc()
      const { position } = await store.append(name, typing('abc', doc))
      const snapshot = Y.encodeStateAsUpdate(doc)
      // Appended after the snapshot was taken, before compaction runs.
      await store.append(name, typing('def', doc))
      await store.compact(name, snapshot, position)
      const loaded = await store.load(name)
      expect(loaded.updates.length).toBe(4)
      expect(Buffer.from(loaded.updates[0]).equals(Buffer.from(snapshot))).toBe(true)
      expect(textOf(loaded.updates)).toBe('abcdef')
      // Appending after a compaction goes on from the same log.
      await store.append(name, typing('g', doc))
      expect(textOf((await store.load(name)).updates)).toBe('abcdefg')
    }))

    it('keeps documents apart, whatever their names hold', () => withStore(async (store) => {
      const base = unique('contract')
      const names = [`${base}/{braces}`, `${base}/{braces}x`, `${base}/ünï/çødé`, `${base}/a b`]
      for (const [i, name] of names.entries()) await store.append(name, typing(String(i)))
      for (const [i, name] of names.entries()) expect(textOf((await store.load(name)).updates)).toBe(String(i))
    }))

    it('answers ready', () => withStore(async (store) => {
      expect(await store.isReady()).toBe(true)
    }))
  })
}
