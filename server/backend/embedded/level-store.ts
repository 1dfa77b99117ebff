/**
 * The embedded store: LevelDB (classic-level) under DATA_DIR.
 *
 * Keys are `<docName>\0<seq>` with seq a global counter in fixed-width hex,
 * so one document's entries sort in append order (doc names cannot hold
 * control characters, so "\0" cannot occur inside one).
 *
 * The counter is not stored with every batch: SEQ_KEY holds a ceiling that
 * no seq handed out so far passes, written in the same atomic batch as the
 * first key above the previous ceiling, and raised SEQ_RESERVE at a time.
 * After a crash the counter restarts from the stored ceiling, so a seq is
 * never used twice (a restart skips at most SEQ_RESERVE of 2^64). Writes from every
 * document queue into one writer that commits a single batch per turn:
 * group commit. With fsync "always" (the default) every batch is synced before
 * its updates are acknowledged, so an acknowledged update survives power loss
 * as well as `kill -9`; with "everysec" batches reach the OS at once (which
 * survives any crash of the process) and are synced within a second, like
 * Redis's `appendfsync everysec`.
 *
 * Readiness (/readyz, docs/deployment.md) is what the store can do now: the
 * database is open, the last write batch did not fail, and a read answers
 * within READY_PROBE_TIMEOUT_MS. LevelDB keeps its status "open" after a
 * failed write (a full disk), so the status alone would say ready forever.
 */
import { ClassicLevel } from 'classic-level'
import type { AppendResult, DocStore, LogPosition, StoredDoc } from '../store.js'

const SEQ_KEY = '\u0000seq'
/** How far the stored ceiling runs ahead of the counter: one SEQ_KEY write per this many entries. */
const SEQ_RESERVE = 1 << 20
const SEP = '\u0000'
/** Written by the periodic sync in "everysec" mode: a synced write flushes every earlier one. */
const SYNC_KEY = '\u0000sync'
const SYNC_INTERVAL_MS = 1000
/** Written only to find out whether writes work again after a batch failed. */
const PROBE_KEY = '\u0000probe'
/** A read slower than this means the disk is in trouble: not ready. */
const READY_PROBE_TIMEOUT_MS = 1000

export type FsyncPolicy = 'always' | 'everysec'

type Op = { type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }

interface Job { ops: () => Promise<Op[]> | Op[], resolve: () => void, reject: (e: unknown) => void, sync: boolean }

export interface LevelStoreOptions {
  /** fsync each batch (default true). Overrides `fsync`. */
  sync?: boolean
  /** "always" (default): fsync each batch; "everysec": fsync at most a second later. */
  fsync?: FsyncPolicy
  /** Seqs reserved per SEQ_KEY write (default SEQ_RESERVE; small in tests to cross reservations). */
  seqReserve?: number
}

/** Keys of their own in the embedded store, for parts of the server other than documents (LevelStore.keyspace). */
export interface KeySpace {
  put (key: string, value: Uint8Array): Promise<void>
  del (key: string): Promise<void>
  /** Every entry, in key order. */
  entries (): AsyncIterable<[string, Uint8Array]>
}

export class LevelStore implements DocStore {
  readonly kind = 'embedded'
  private readonly db: ClassicLevel<string, Uint8Array>
  private seq = 0n
  /** The ceiling SEQ_KEY holds on disk: every seq used so far is at most this. */
  private ceiling = 0n
  private queue: Job[] = []
  private writing = false
  private readonly sync: boolean
  private readonly seqReserve: bigint
  /** Unsynced batches were written since the last synced one ("everysec"). */
  private dirty = false
  private syncTimer: NodeJS.Timeout | null = null
  /** Why the last batch failed; null once a batch succeeded (readiness). */
  private lastBatchError: unknown = null
  /** The write isReady started to see whether a failed store writes again. */
  private probeWrite: Promise<void> | null = null

  private constructor (dir: string, opts: LevelStoreOptions) {
    this.db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
    this.sync = opts.sync ?? (opts.fsync ?? 'always') === 'always'
    this.seqReserve = BigInt(opts.seqReserve ?? SEQ_RESERVE)
    if (!this.sync && opts.fsync === 'everysec') {
      this.syncTimer = setInterval(() => { if (this.dirty) void this.syncNow().catch(() => {}) }, SYNC_INTERVAL_MS)
      this.syncTimer.unref()
    }
  }

  /** One synced write: LevelDB syncs its log, and with it every batch before. */
  private syncNow (): Promise<void> {
    this.dirty = false
    return this.enqueue(() => [{ type: 'put', key: SYNC_KEY, value: new Uint8Array(0) }], true)
  }

  static async open (dir: string, opts: LevelStoreOptions = {}): Promise<LevelStore> {
    const store = new LevelStore(dir, opts)
    await store.db.open()
    const last = await store.db.get(SEQ_KEY)
    if (last !== undefined) store.seq = store.ceiling = BigInt('0x' + Buffer.from(last).toString('latin1'))
    return store
  }

  async load (name: string): Promise<StoredDoc> {
    const updates: Uint8Array[] = []
    let position: LogPosition | null = null
    let bytes = 0
    for await (const [key, value] of this.db.iterator({ gt: name + SEP, lt: name + '\u0001' })) {
      updates.push(value)
      bytes += value.length
      position = key.slice(name.length + 1)
    }
    return { updates, position, bytes }
  }

  append (name: string, updates: Uint8Array[]): Promise<AppendResult> {
    let position = ''
    return this.enqueue(() => updates.map((value) => {
      position = this.nextKey()
      return { type: 'put' as const, key: name + SEP + position, value }
    })).then(() => ({ position }))
  }

  compact (name: string, snapshot: Uint8Array, through: LogPosition): Promise<void> {
    return this.enqueue(async () => {
      const ops: Op[] = []
      for await (const key of this.db.keys({ gt: name + SEP, lte: name + SEP + through })) {
        ops.push({ type: 'del', key })
      }
      // The snapshot takes the place of the last entry it covers.
      ops.push({ type: 'put', key: name + SEP + through, value: snapshot })
      return ops
    })
  }

  /**
   * A key space for other parts of the server (the webhooks' queue and
   * endpoints): keys `\0<name>\0<key>`, which no document's can be (names
   * hold no control character). Writes share the documents' group commit
   * and fsync policy.
   */
  keyspace (name: string): KeySpace {
    const prefix = SEP + name + SEP
    const db = this.db
    return {
      put: (key, value) => this.enqueue(() => [{ type: 'put', key: prefix + key, value }]),
      del: (key) => this.enqueue(() => [{ type: 'del', key: prefix + key }]),
      entries: async function * () {
        for await (const [key, value] of db.iterator({ gt: prefix, lt: SEP + name + '\u0001' })) yield [key.slice(prefix.length), value]
      },
    }
  }

  async isReady (): Promise<boolean> {
    if (this.db.status !== 'open') return false
    if (this.lastBatchError !== null) {
      // Not ready now; a probe write lets the next check see a recovered disk
      // even when no document writes (a load balancer sends none to an instance it took out).
      this.probeWrite ??= this.enqueue(() => [{ type: 'put', key: PROBE_KEY, value: new Uint8Array(0) }])
        .catch(() => {})
        .finally(() => { this.probeWrite = null })
      return false
    }
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), READY_PROBE_TIMEOUT_MS) })
    const read = this.db.get(SEQ_KEY).then(() => true, () => false)
    const ready = await Promise.race([read, timeout])
    clearTimeout(timer)
    return ready
  }

  async close (): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer)
    this.syncTimer = null
    if (this.dirty) await this.syncNow()
    while (this.writing || this.queue.length > 0) await new Promise((r) => setImmediate(r))
    await this.db.close()
  }

  private nextKey (): string {
    this.seq += 1n
    return this.seq.toString(16).padStart(16, '0')
  }

  private enqueue (ops: Job['ops'], sync = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, resolve, reject, sync })
      if (!this.writing) {
        this.writing = true
        setImmediate(() => { void this.drain() })
      }
    })
  }

  /** Commit everything queued as one batch, then whatever queued meanwhile. */
  private async drain (): Promise<void> {
    while (this.queue.length > 0) {
      const jobs = this.queue
      this.queue = []
      try {
        const ops: Op[] = []
        for (const job of jobs) ops.push(...await job.ops())
        // Only a batch that used seqs above the stored ceiling raises it; a
        // batch that fails leaves `ceiling` as it was, so the next one writes it.
        const ceiling = this.seq > this.ceiling ? this.seq + this.seqReserve : null
        if (ceiling !== null) ops.push({ type: 'put', key: SEQ_KEY, value: Buffer.from(ceiling.toString(16), 'latin1') })
        const sync = this.sync || jobs.some((j) => j.sync)
        await this.db.batch(ops, { sync })
        if (!sync) this.dirty = true
        if (ceiling !== null) this.ceiling = ceiling
        this.lastBatchError = null
        for (const job of jobs) job.resolve()
      } catch (err) {
        this.lastBatchError = err
        for (const job of jobs) job.reject(err)
      }
    }
    this.writing = false
  }
}
