/**
 * The embedded store's one writer (docs/architecture.md; docs/performance.md):
 * writes from every document queue here and are committed as one LevelDB
 * batch per turn — group commit. With fsync "always" (the default) every
 * batch is synced before its writes resolve, so an acknowledged update
 * survives power loss as well as `kill -9`; with "everysec" batches reach
 * the OS at once (which survives any crash of the process) and are synced
 * within a second, like Redis's `appendfsync everysec`.
 */
import type { ClassicLevel } from 'classic-level'
import { startPaced } from '../commit-pace.js'

/**
 * Batches start at most this often (group commit across documents): the
 * first write after a quiet spell goes at once, later ones gather for the
 * rest of the interval. Each batch costs a round trip to LevelDB's thread and
 * (with "always") an fsync, whatever it holds, so at 2000 edits/s spread
 * evenly an unpaced writer commits nearly one batch per edit
 * (docs/performance.md).
 */
export const COMMIT_INTERVAL_MS = 2
/** Written by the periodic sync in "everysec" mode: a synced write flushes every earlier one. */
const SYNC_KEY = '\u0000sync'
const SYNC_INTERVAL_MS = 1000

export type Op = { type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }

/** A job's operations, computed in the writer; `batch` holds those of the jobs before it in the same batch. */
export type JobOps = (batch: Op[]) => Promise<Op[]> | Op[]

interface Job { ops: JobOps, resolve: () => void, reject: (e: unknown) => void, sync: boolean }

export interface GroupCommitOptions {
  /** fsync every batch ("always"). */
  sync: boolean
  /** Without `sync`: fsync at most SYNC_INTERVAL_MS after a batch ("everysec"); else never (tests). */
  everysec: boolean
  /** Least time between the starts of two batches (0: none). */
  commitIntervalMs: number
  /**
   * Called with a batch's operations before it is written; may add to them.
   * Returns what to do once the batch is written, if anything.
   */
  seal (ops: Op[]): (() => void) | null
  /** A batch failed: its jobs are rejected. */
  failed (): void
}

export class GroupCommit {
  private queue: Job[] = []
  private writing = false
  /** When the last batch started (performance.now()). */
  private lastBatchAt = -Infinity
  /** Unsynced batches were written since the last synced one ("everysec"). */
  private dirty = false
  private syncTimer: NodeJS.Timeout | null = null
  /** Why the last batch failed; null once a batch succeeded (readiness). */
  lastError: unknown = null

  constructor (private readonly db: ClassicLevel<string, Uint8Array>, private readonly opts: GroupCommitOptions) {
    if (!opts.sync && opts.everysec) {
      this.syncTimer = setInterval(() => { if (this.dirty) void this.syncNow().catch(() => {}) }, SYNC_INTERVAL_MS)
      this.syncTimer.unref()
    }
  }

  enqueue (ops: JobOps, sync = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, resolve, reject, sync })
      if (!this.writing) {
        this.writing = true
        startPaced(this.lastBatchAt, this.opts.commitIntervalMs, () => { void this.drain() })
      }
    })
  }

  /** Sync what is unsynced, then wait until every queued write is done. */
  async close (): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer)
    this.syncTimer = null
    if (this.dirty) await this.syncNow()
    while (this.writing || this.queue.length > 0) await new Promise((r) => setImmediate(r))
  }

  /** One synced write: LevelDB syncs its log, and with it every batch before. */
  private syncNow (): Promise<void> {
    this.dirty = false
    return this.enqueue(() => [{ type: 'put', key: SYNC_KEY, value: new Uint8Array(0) }], true)
  }

  /** Commit everything queued as one batch, then whatever queued meanwhile. */
  private async drain (): Promise<void> {
    while (this.queue.length > 0) {
      const wait = this.lastBatchAt + this.opts.commitIntervalMs - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      this.lastBatchAt = performance.now()
      const jobs = this.queue
      this.queue = []
      try {
        const ops: Op[] = []
        for (const job of jobs) ops.push(...await job.ops(ops))
        const written = this.opts.seal(ops)
        const sync = this.opts.sync || jobs.some((j) => j.sync)
        await this.commit(ops, sync)
        if (!sync) this.dirty = true
        written?.()
        this.lastError = null
        for (const job of jobs) job.resolve()
      } catch (err) {
        this.lastError = err
        this.opts.failed()
        for (const job of jobs) job.reject(err)
      }
    }
    this.writing = false
  }

  /**
   * One atomic batch. The chained form, not `db.batch(ops)`: abstract-level
   * clones and normalises every operation of an array batch, which cost
   * 10–18 µs per operation here against 2–9 for the same batch chained
   * (docs/performance.md).
   */
  private async commit (ops: Op[], sync: boolean): Promise<void> {
    const batch = this.db.batch()
    try {
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value)
        else batch.del(op.key)
      }
    } catch (err) {
      await batch.close()
      throw err
    }
    await batch.write({ sync })
  }
}
