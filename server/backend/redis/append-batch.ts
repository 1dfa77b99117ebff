/**
 * Group commit for the Redis store: the appends of every document made
 * within one commit interval go to Redis as one script call — one command
 * to encode, one socket write, one script run and one reply instead of one
 * each — as the embedded store commits one LevelDB batch per interval
 * (docs/performance.md, "The Redis path").
 *
 * The first append after a quiet spell goes on the next turn of the event
 * loop; later ones gather until `intervalMs` after the last group went.
 * Each document gets its own outcome: a document whose keys Redis refuses
 * (another type) fails alone and the rest of its group goes in; a lost
 * connection fails the whole group, and the store retries each append as
 * it always did. The order of one document's appends is kept by the store:
 * it issues the next only once the previous has answered.
 *
 * Standalone Redis only: in a cluster a script's keys must share one slot,
 * so there each append is one call of its own (`appendArgs` of one part).
 */
import type { Redis } from 'ioredis'
import { StoreError } from '../store.js'
import { startPaced } from '../commit-pace.js'
import type { DocKeys } from './keys.js'
import type { QuireCommands } from './scripts.js'

/** One document's part of an append. */
export interface AppendPart {
  keys: DocKeys
  updates: Buffer[]
}

/** The `quireAppend` arguments (scripts.ts) that append `parts` and publish them. */
export function appendArgs (parts: readonly AppendPart[], publish: string, instance: string): Parameters<QuireCommands['quireAppend']> {
  const args: Array<string | Buffer> = []
  for (const { keys } of parts) args.push(keys.log, keys.seq, keys.time)
  args.push(publish, instance)
  for (const { keys, updates } of parts) args.push(keys.channel, String(updates.length), ...updates)
  return [parts.length * 3, ...args]
}

/** One document's reply from the append script: its last position, or the error Redis gave for its keys (scripts.ts). */
export function positionOf (reply: number | string | undefined): number {
  if (typeof reply === 'number') return reply
  throw new StoreError(`redis refused the append: ${reply ?? 'no reply for this document'}`)
}

interface Pending {
  part: AppendPart
  resolve: (last: number) => void
  reject: (err: unknown) => void
}

export interface AppendBatchOptions {
  client: Redis & QuireCommands
  /** DATA_COMMIT_INTERVAL_MS: least time between two groups. */
  intervalMs: number
  publishCommand: 'publish'
  instanceId: string
}

export class AppendBatch {
  private queue: Pending[] = []
  private scheduled = false
  /** When the last group went (performance.now()). */
  private lastSentAt = -Infinity

  constructor (private readonly opts: AppendBatchOptions) {}

  /** Append to one document with the next group; resolves to the position of its last entry. */
  append (part: AppendPart): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ part, resolve, reject })
      if (this.scheduled) return
      this.scheduled = true
      startPaced(this.lastSentAt, this.opts.intervalMs, this.send)
    })
  }

  private readonly send = (): void => {
    this.scheduled = false
    this.lastSentAt = performance.now()
    const group = this.queue
    this.queue = []
    const { client, publishCommand, instanceId } = this.opts
    client.quireAppend(...appendArgs(group.map((p) => p.part), publishCommand, instanceId)).then((replies) => {
      group.forEach((pending, i) => {
        try {
          pending.resolve(positionOf(replies[i]))
        } catch (err) {
          pending.reject(err)
        }
      })
    }, (err: unknown) => {
      for (const pending of group) pending.reject(err)
    })
  }
}
