/** A small seeded PRNG (mulberry32), so generated documents are the same every run. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = ['the ', 'quire ', 'shared ', 'edit ', 'sync ', 'note ', 'draft ', 'page ', 'line ', 'word ', 'a', 'b', 'c', '. ', ', ']

/** A short piece of text, as a person types it. */
export function randomText (rand: () => number, maxLength: number): string {
  let s = ''
  const n = 1 + Math.floor(rand() * maxLength)
  while (s.length < n) s += WORDS[Math.floor(rand() * WORDS.length)]
  return s.slice(0, n)
}
