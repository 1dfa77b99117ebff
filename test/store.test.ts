/** The shared DocStore contract, run against the embedded store and the in-memory one. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runStoreContract } from './store-contract.js'
import { LevelStore } from '../server/store/level-store.js'
import { MemoryStore } from '../server/store/memory-store.js'

const dirs = new WeakMap<object, string>()

runStoreContract('LevelStore', {
  async open () {
    const dir = mkdtempSync(join(tmpdir(), 'quire-level-'))
    const store = await LevelStore.open(dir)
    dirs.set(store, dir)
    return store
  },
  async reopen (store) {
    const dir = dirs.get(store)!
    await store.close()
    const next = await LevelStore.open(dir)
    dirs.set(next, dir)
    return next
  },
})

runStoreContract('MemoryStore', { open: async () => new MemoryStore() })
