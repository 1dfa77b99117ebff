/**
 * Seeded in-process tests, in the style of yjs's own: a pseudo-random
 * generator drives what happens in which order, so a failure replays exactly
 * with its seed. Every seeded test runs SEED_COUNT seeds (or the one in
 * DOC_SEED) and names the seed in its failure message:
 *
 *   DOC_SEED=1234 npx vitest run test/document/write-pipeline.test.ts
 */
import * as prng from 'lib0/prng'

export type Random = prng.PRNG
export { prng }

/** Seeds per test (DOC_SEED_COUNT raises it for a longer hunt). */
const SEED_COUNT = Number(process.env.DOC_SEED_COUNT ?? 40)

/** The seeds to run: DOC_SEED alone when set, else a fixed series of `count`. */
export function seeds (count = SEED_COUNT): number[] {
  const one = process.env.DOC_SEED
  if (one !== undefined && one !== '') return [Number(one)]
  return Array.from({ length: count }, (_, i) => 1000 + i * 7919)
}

/** Run `body` with a generator for every seed; a failure says which seed to replay. */
export async function forEachSeed (body: (gen: Random, seed: number) => Promise<void> | void, count?: number): Promise<void> {
  for (const seed of seeds(count)) {
    try {
      await body(prng.create(seed), seed)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      const replay = new Error(`seed ${seed} failed (replay: DOC_SEED=${seed}): ${message}`)
      if (err instanceof Error) replay.stack = `${replay.message}\n${err.stack ?? ''}`
      throw replay
    }
  }
}

/** A promise to resolve or reject later, by hand. */
export interface Deferred<T> { promise: Promise<T>, resolve (value: T): void, reject (err: unknown): void }

export function deferred<T> (): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/** Let pending promise callbacks and immediates run. */
export const settle = async (turns = 3): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve))
}
