/**
 * Readiness of the embedded store (docs/deployment.md, "Health and outages"):
 * /readyz says 503 while LevelDB cannot serve (closed underneath, or its
 * last write batch failed) and 200 again once it can, with no document
 * traffic needed to find that out.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it } from 'vitest'
import { LevelStore } from '../server/backend/embedded/level-store.js'
import { startInProcess, type InProcessQuire } from './helpers/in-process.js'
import { waitFor } from './helpers/wait.js'

/** The LevelDB handle under the store: what a failing disk or a crash of the database would take away. */
const dbOf = (store: LevelStore): ClassicLevel<string, Uint8Array> =>
  (store as unknown as { db: ClassicLevel<string, Uint8Array> }).db

const readyz = async (q: InProcessQuire): Promise<number> => (await fetch(`${q.url}/readyz`)).status

describe('LevelStore readiness', () => {
  let store: LevelStore | null = null
  let quire: InProcessQuire | null = null

  afterEach(async () => {
    await quire?.quire.drain()
    if (store && dbOf(store).status !== 'open') await dbOf(store).open()
    await store?.close()
    quire = null
    store = null
  })

  it('/readyz answers 503 while the database is closed underneath, 200 once it is open again', async () => {
    store = await LevelStore.open(mkdtempSync(join(tmpdir(), 'quire-ready-')))
    quire = await startInProcess(store)
    expect(await readyz(quire)).toBe(200)

    await dbOf(store).close()
    expect(await store.isReady()).toBe(false)
    expect(await readyz(quire)).toBe(503)

    await dbOf(store).open()
    expect(await readyz(quire)).toBe(200)
  })

  it('a failed batch leaves it not ready even once the database is open, until a write succeeds (its own probe, no traffic needed)', async () => {
    store = await LevelStore.open(mkdtempSync(join(tmpdir(), 'quire-ready-')))
    quire = await startInProcess(store)
    await store.append('kept', [new Uint8Array([1, 2, 3])])

    await dbOf(store).close()
    await expect(store.append('lost', [new Uint8Array([4])])).rejects.toThrow()
    await dbOf(store).open()
    // Open again, but the last batch failed: not ready yet.
    expect(dbOf(store).status).toBe('open')
    expect(await readyz(quire)).toBe(503)
    // That check started a probe write; it succeeds, so the next check says ready.
    await waitFor(() => readyz(quire!), (s) => s === 200, '/readyz 200 after the probe write')

    // The probe wrote nothing a document can see.
    expect((await store.load('kept')).updates.map((u) => [...u])).toEqual([[1, 2, 3]])
    expect((await store.load('lost')).updates).toEqual([])
  })

  it('a batch LevelDB refuses while open makes it not ready; the next good batch makes it ready', async () => {
    store = await LevelStore.open(mkdtempSync(join(tmpdir(), 'quire-ready-')))
    expect(await store.isReady()).toBe(true)
    // LevelDB refuses a batch with a missing value (LEVEL_INVALID_VALUE) and writes none of it.
    await expect(store.append('doc', [undefined as unknown as Uint8Array])).rejects.toThrow()
    expect(dbOf(store).status).toBe('open')
    expect(await store.isReady()).toBe(false)
    await store.append('doc', [new Uint8Array([7])])
    expect(await store.isReady()).toBe(true)
    expect((await store.load('doc')).updates.map((u) => [...u])).toEqual([[7]])
  })
})
