/** Random readable names: for people who did not give one, and for new documents. */

const ADJECTIVES = ['Amber', 'Brisk', 'Calm', 'Clever', 'Cosmic', 'Gentle', 'Golden', 'Jolly', 'Lucky', 'Mellow', 'Nimble', 'Quiet', 'Rapid', 'Sunny', 'Swift', 'Teal', 'Witty', 'Zesty']
const ANIMALS = ['Badger', 'Crane', 'Dolphin', 'Falcon', 'Fox', 'Heron', 'Koala', 'Lynx', 'Marten', 'Otter', 'Owl', 'Panda', 'Puffin', 'Raven', 'Seal', 'Tiger', 'Walrus', 'Wren']

const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)]

/** "Swift Otter". */
export function generatedName (): string {
  return `${pick(ADJECTIVES)} ${pick(ANIMALS)}`
}

const WORDS_A = ['amber', 'bright', 'calm', 'crisp', 'daring', 'early', 'fresh', 'green', 'hidden', 'lively', 'misty', 'north', 'quiet', 'silver', 'spring', 'still', 'warm', 'wild']
const WORDS_B = ['brook', 'canyon', 'cedar', 'cove', 'delta', 'field', 'garden', 'harbor', 'island', 'lake', 'meadow', 'orchard', 'peak', 'ridge', 'river', 'shore', 'valley', 'willow']

/** A fresh, readable document name: `misty-harbor-4k9qz2`. */
export function newDocName (): string {
  const tail = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => (b % 36).toString(36)).join('')
  return `${pick(WORDS_A)}-${pick(WORDS_B)}-${tail}`
}
