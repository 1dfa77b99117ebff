/**
 * The large document of the cold-load scenario: a Y.Text after N random
 * edits (inserts and deletes at random places, by a new client every 1,000
 * edits, as a long-lived document looks). Generated once and cached in the
 * temporary directory, keyed by the edit count.
 */
import * as Y from 'yjs'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomText, seededRandom } from './random.js'

export interface LargeDoc {
  update: Uint8Array
  textLength: number
  edits: number
  /** Whether it was generated in this run (else read from the cache). */
  generated: boolean
  generateMs: number
}

const CACHE_VERSION = 1
export const TEXT_NAME = 'default'

/** Apply `edits` random edits to `text`, switching the doc's client id every `session` edits; inserts up to `maxInsert` characters. */
export function randomEdits (doc: Y.Doc, edits: number, seed: number, session = 1000, maxInsert = 12): void {
  const rand = seededRandom(seed)
  const text = doc.getText(TEXT_NAME)
  for (let i = 0; i < edits; i++) {
    if (i % session === 0) doc.clientID = Math.floor(rand() * 0x7fffffff)
    const length = text.length
    if (length > 50 && rand() < 0.25) {
      const at = Math.floor(rand() * (length - 5))
      text.delete(at, 1 + Math.floor(rand() * 5))
    } else {
      text.insert(Math.floor(rand() * (length + 1)), randomText(rand, maxInsert))
    }
  }
}

/** Edits per round of `sizedDoc` between two size checks, and the longest insert (a sentence, so big documents build fast). */
const SIZED_ROUND = 20_000
const SIZED_MAX_INSERT = 120

/**
 * A document of at least `bytes` encoded: rounds of random edits (as
 * `randomEdits`, with sentence-long inserts) until it is that big. Cached in
 * the temporary directory by size; `seed` makes documents of one size differ.
 */
export function sizedDoc (bytes: number, seed = 1): Uint8Array {
  const dir = join(tmpdir(), 'quire-bench-cache')
  const file = join(dir, `sized-doc-v${CACHE_VERSION}-${bytes}-${seed}.bin`)
  if (existsSync(file)) return new Uint8Array(readFileSync(file))
  const doc = new Y.Doc()
  let update = Y.encodeStateAsUpdate(doc)
  for (let round = 0; update.length < bytes; round++) {
    // Small documents take one small round; each round adds about a tenth of the target, at most SIZED_ROUND edits.
    const edits = Math.min(SIZED_ROUND, Math.max(10, Math.ceil(bytes / 600)))
    randomEdits(doc, edits, seed * 7919 + round, 1000, SIZED_MAX_INSERT)
    update = Y.encodeStateAsUpdate(doc)
  }
  doc.destroy()
  mkdirSync(dir, { recursive: true })
  writeFileSync(file, update)
  return update
}

export function largeDoc (edits: number): LargeDoc {
  const dir = join(tmpdir(), 'quire-bench-cache')
  const file = join(dir, `large-doc-v${CACHE_VERSION}-${edits}.bin`)
  const meta = `${file}.json`
  if (existsSync(file) && existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { textLength: number }
    return { update: new Uint8Array(readFileSync(file)), textLength: m.textLength, edits, generated: false, generateMs: 0 }
  }
  const started = performance.now()
  const doc = new Y.Doc()
  randomEdits(doc, edits, 0x51e1)
  const update = Y.encodeStateAsUpdate(doc)
  const textLength = doc.getText(TEXT_NAME).length
  doc.destroy()
  mkdirSync(dir, { recursive: true })
  writeFileSync(file, update)
  writeFileSync(meta, JSON.stringify({ textLength }))
  return { update, textLength, edits, generated: true, generateMs: performance.now() - started }
}
