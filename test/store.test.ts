/** The shared DocStore contract, run against the embedded store and the in-memory one. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runStoreContract } from './store-contract.js'
import { LevelStore } from '../server/backend/embedded/level-store.js'
import { MemoryStore } from '../server/backend/memory-store.js'

const dirs = new WeakMap<object, string>()

for (const fsync of ['always', 'everysec'] as const) {
  runStoreContract(`LevelStore (DATA_FSYNC=${fsync})`, {
    async open () {
      const dir = mkdtempSync(join(tmpdir(), 'quire-level-'))
      const store = await LevelStore.open(dir, { fsync })
      dirs.set(store, dir)
      return store
    },
    async reopen (store) {
      const dir = dirs.get(store)!
      await store.close()
      const next = await LevelStore.open(dir, { fsync })
      dirs.set(next, dir)
      return next
    },
  })
}

runStoreContract('MemoryStore', { open: async () => new MemoryStore() })

describe('LevelStore sequence counter', () => {
  it('never reuses a position after reopening, which writes nothing on close, as after a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quire-level-'))
    // A reservation of 3 seqs: eight appends of two updates cross several.
    let store = await LevelStore.open(dir, { seqReserve: 3 })
    const positions: string[] = []
    const sent: number[] = []
    for (let i = 0; i < 8; i++) {
      positions.push((await store.append('doc', [new Uint8Array([i, 0]), new Uint8Array([i, 1])])).position)
      sent.push(i)
      if (i % 3 === 2) {
        await store.close()
        store = await LevelStore.open(dir, { seqReserve: 3 })
      }
    }
    expect([...positions].sort()).toEqual(positions)
    expect(new Set(positions).size).toBe(positions.length)
    const loaded = await store.load('doc')
    expect(loaded.updates.map((u) => [...u])).toEqual(sent.flatMap((i) => [[i, 0], [i, 1]]))
    await store.close()
  })
})
