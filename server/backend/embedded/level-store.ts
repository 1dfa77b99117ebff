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
 * document go through one writer, group-commit.ts (fsync "always" or
 * "everysec").
 *
 * Each document also has a key `\0t\0<docName>` with the time of its last
 * append (for listing). `create` checks and writes inside the one writer, so
 * no append can come between its check and its write.
 *
 * Versions (docs/history.md) live beside the logs under keys that begin
 * with "\0" (no document name does): `\0v\0<doc>\0<id>` holds a version's
 * record, `\0w\0<doc>\0<id>` its snapshot, `\0e\0<doc>\0<user id>` an
 * editor noted since the last version. A version and the editors it takes
 * are one batch.
 *
 * Readiness (/readyz, docs/deployment.md) is what the store can do now: the
 * database is open, the last write batch did not fail, and a read answers
 * within READY_PROBE_TIMEOUT_MS. LevelDB keeps its status "open" after a
 * failed write (a full disk), so the status alone would say ready forever.
 */
import { ClassicLevel } from 'classic-level'
import type { AppendResult, DocPage, DocStore, DocSummary, LogPosition, NewVersion, StoredDoc, StoredVersion, VersionClaim, VersionInfo, VersionUser } from '../store.js'
import { COMMIT_INTERVAL_MS, GroupCommit, type JobOps, type Op } from './group-commit.js'
import { editorValue, joinRecord, newVersionId, parseRecord, recordHead } from '../versions.js'
import { Concurrency } from '../../ops/concurrency.js'

const SEQ_KEY = '\u0000seq'
/** How far the stored ceiling runs ahead of the counter: one SEQ_KEY write per this many entries. */
const SEQ_RESERVE = 1 << 20
const SEP = '\u0000'
/**
 * Documents read at once. Each read in flight holds LevelDB's native
 * buffers: 200 documents of 200 KiB loaded together after a restart peaked
 * at about 330 MiB RSS, four at a time at about 235 MiB, with libuv's four
 * threads doing the reading either way (docs/performance.md, "Join storms").
 */
const MAX_LOADS_AT_ONCE = 4
/** Prefix of the per-document last-change keys (no document name starts with a control character). */
const TIME_KEY = '\u0000t\u0000'
/**
 * A document's last-change time is rewritten at most this often: it was
 * half of the operations of every append, for a figure the listing shows
 * (docs/api.md) that may then be up to this much older than the last write.
 */
const TIME_RESOLUTION_MS = 1000
/** Documents whose time write is remembered; past this many the memory starts over. */
const TIMES_REMEMBERED = 100_000
/** Written only to find out whether writes work again after a batch failed. */
const PROBE_KEY = '\u0000probe'
/** A read slower than this means the disk is in trouble: not ready. */
const READY_PROBE_TIMEOUT_MS = 1000
/** Key prefixes of versions' records, their snapshots, and editors noted since the last version. */
const VERSION = '\u0000v\u0000'
const VERSION_STATE = '\u0000w\u0000'
const EDITOR = '\u0000e\u0000'
const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
/** Every key of one document under `prefix`, as an iterator range. */
const under = (prefix: string, name: string): { gt: string, lt: string } => ({ gt: prefix + name + SEP, lt: prefix + name + '\u0001' })

export type FsyncPolicy = 'always' | 'everysec'


export interface LevelStoreOptions {
  /** fsync each batch (default true). Overrides `fsync`. */
  sync?: boolean
  /** "always" (default): fsync each batch; "everysec": fsync at most a second later. */
  fsync?: FsyncPolicy
  /** Seqs reserved per SEQ_KEY write (default SEQ_RESERVE; small in tests to cross reservations). */
  seqReserve?: number
  /** Least time between the starts of two batches (default COMMIT_INTERVAL_MS; 0: none). */
  commitIntervalMs?: number
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
  private readonly writer: GroupCommit
  private readonly seqReserve: bigint
  /** The write isReady started to see whether a failed store writes again. */
  private probeWrite: Promise<void> | null = null
  /** When each document's last-change time was last written (TIME_RESOLUTION_MS). */
  private readonly timesWritten = new Map<string, number>()
  /** Automatic versions claimed, by document: until when (ms). */
  private readonly claims = new Map<string, { until: number }>()
  private readonly loads = new Concurrency(MAX_LOADS_AT_ONCE)

  private constructor (dir: string, opts: LevelStoreOptions) {
    this.db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
    const sync = opts.sync ?? (opts.fsync ?? 'always') === 'always'
    this.seqReserve = BigInt(opts.seqReserve ?? SEQ_RESERVE)
    this.writer = new GroupCommit(this.db, {
      sync,
      everysec: opts.fsync === 'everysec',
      commitIntervalMs: opts.commitIntervalMs ?? COMMIT_INTERVAL_MS,
      seal: (ops) => {
        // Only a batch that used seqs above the stored ceiling raises it; a
        // batch that fails leaves `ceiling` as it was, so the next one writes it.
        if (this.seq <= this.ceiling) return null
        const ceiling = this.seq + this.seqReserve
        ops.push({ type: 'put', key: SEQ_KEY, value: Buffer.from(ceiling.toString(16), 'latin1') })
        return () => { this.ceiling = ceiling }
      },
      // Times of a failed batch may not be stored: the next append of each document writes its own.
      failed: () => this.timesWritten.clear(),
    })
  }

  static async open (dir: string, opts: LevelStoreOptions = {}): Promise<LevelStore> {
    const store = new LevelStore(dir, opts)
    await store.db.open()
    const last = await store.db.get(SEQ_KEY)
    if (last !== undefined) store.seq = store.ceiling = BigInt('0x' + Buffer.from(last).toString('latin1'))
    return store
  }

  load (name: string): Promise<StoredDoc> {
    return this.loads.run(() => this.read(name))
  }

  private async read (name: string): Promise<StoredDoc> {
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
    return this.enqueue(() => this.appendOps(name, updates, (p) => { position = p })).then(() => ({ position }))
  }

  private appendOps (name: string, updates: Uint8Array[], last: (position: string) => void): Op[] {
    const ops: Op[] = updates.map((value) => {
      const position = this.nextKey()
      last(position)
      return { type: 'put' as const, key: name + SEP + position, value }
    })
    const now = Date.now()
    const written = this.timesWritten.get(name)
    if (written === undefined || now - written >= TIME_RESOLUTION_MS) {
      if (this.timesWritten.size >= TIMES_REMEMBERED) this.timesWritten.clear()
      this.timesWritten.set(name, now)
      ops.push({ type: 'put', key: TIME_KEY + name, value: encodeTime(now) })
    }
    return ops
  }

  async exists (name: string): Promise<boolean> {
    for await (const _ of this.db.keys({ gt: name + SEP, lt: name + '\u0001', limit: 1 })) return true
    return false
  }

  create (name: string, update: Uint8Array): Promise<boolean> {
    let created = false
    return this.enqueue(async (batch) => {
      // Checked in the writer: appends queued before it in this batch count, later ones come after.
      const prefix = name + SEP
      if (batch.some((op) => op.key.startsWith(prefix)) || await this.exists(name)) return []
      created = true
      return this.appendOps(name, [update], () => {})
    }).then(() => created)
  }

  delete (name: string): Promise<boolean> {
    let existed = false
    return this.enqueue(async (batch) => {
      const ops: Op[] = []
      for await (const key of this.db.keys({ gt: name + SEP, lt: name + '\u0001' })) ops.push({ type: 'del', key })
      // Appends earlier in this batch are removed with the rest: they are dropped from it.
      const prefix = name + SEP
      for (let i = batch.length - 1; i >= 0; i--) {
        if (batch[i].key.startsWith(prefix)) {
          batch.splice(i, 1)
          existed = true
        }
      }
      existed ||= ops.length > 0
      ops.push({ type: 'del', key: TIME_KEY + name })
      this.timesWritten.delete(name)
      return ops
    }).then(() => existed)
  }

  async list (prefix: string, cursor: string | null, limit: number): Promise<DocPage> {
    const documents: DocSummary[] = []
    let more = false
    // Keys of one document are `<name>\0<seq>`: past its last one is `<name>\u0001`.
    // (The store's own keys start with \0: no document name does.)
    const it = this.db.iterator({ gte: cursor === null ? (prefix || '\u0001') : cursor + '\u0001' })
    try {
      let current: DocSummary | null = null
      for (;;) {
        const entry = await it.next()
        if (entry === undefined) break
        const [key, value] = entry
        const sep = key.indexOf(SEP)
        const name = key.slice(0, sep)
        if (sep <= 0 || !name.startsWith(prefix)) break
        if (current === null || current.name !== name) {
          if (documents.length === limit) {
            more = true
            break
          }
          current = { name, bytes: 0, updatedAt: null }
          documents.push(current)
        }
        current.bytes += value.length
      }
    } finally {
      await it.close()
    }
    for (const doc of documents) {
      const time = await this.db.get(TIME_KEY + doc.name)
      doc.updatedAt = time === undefined ? null : decodeTime(time)
    }
    return { documents, cursor: more ? documents[documents.length - 1].name : null }
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

  async putVersion (name: string, version: NewVersion, state: Uint8Array): Promise<VersionInfo> {
    const id = newVersionId(version.at)
    let record = ''
    await this.enqueue(async (batch) => {
      const editors = new Map<string, string>()
      for await (const [key, value] of this.db.iterator(under(EDITOR, name))) editors.set(key, utf8(value))
      // Editors noted earlier in this same batch count too (and one taken earlier in it does not).
      const range = under(EDITOR, name)
      for (const op of batch) {
        if (op.key <= range.gt || op.key >= range.lt) continue
        if (op.type === 'put') editors.set(op.key, utf8(op.value))
        else editors.delete(op.key)
      }
      record = joinRecord(recordHead(id, version, state.length), editors.values())
      return [
        { type: 'put', key: VERSION + name + SEP + id, value: Buffer.from(record, 'utf8') },
        { type: 'put', key: VERSION_STATE + name + SEP + id, value: state },
        ...[...editors.keys()].map((key): Op => ({ type: 'del', key })),
      ]
    })
    return parseRecord(record)
  }

  async listVersions (name: string, page: { before?: string, limit?: number } = {}): Promise<VersionInfo[]> {
    const range = under(VERSION, name)
    const lt = page.before === undefined ? range.lt : VERSION + name + SEP + page.before
    const out: VersionInfo[] = []
    for await (const value of this.db.values({ gt: range.gt, lt, reverse: true, limit: page.limit ?? -1 })) out.push(parseRecord(utf8(value)))
    return out
  }

  async getVersion (name: string, id: string): Promise<StoredVersion | null> {
    const [record, state] = await this.db.getMany([VERSION + name + SEP + id, VERSION_STATE + name + SEP + id])
    if (record === undefined || state === undefined) return null
    return { info: parseRecord(utf8(record)), state }
  }

  deleteVersions (name: string, ids: string[]): Promise<void> {
    return this.enqueue(() => ids.flatMap((id): Op[] => [
      { type: 'del', key: VERSION + name + SEP + id },
      { type: 'del', key: VERSION_STATE + name + SEP + id },
    ]))
  }

  noteEditors (name: string, users: VersionUser[]): Promise<void> {
    return this.enqueue(() => users.map((user): Op => ({ type: 'put', key: EDITOR + name + SEP + user.id, value: Buffer.from(editorValue(user), 'utf8') })))
  }

  /** One process owns a LevelDB directory: the claim only keeps this process's own callers apart. */
  async claimVersion (name: string, ttlMs: number): Promise<VersionClaim | null> {
    const now = Date.now()
    for (const [doc, claim] of this.claims) if (claim.until <= now) this.claims.delete(doc)
    if (this.claims.has(name)) return null
    const claim = { until: now + ttlMs }
    this.claims.set(name, claim)
    return { release: async () => { if (this.claims.get(name) === claim) this.claims.delete(name) } }
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
    if (this.writer.lastError !== null) {
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
    await this.writer.close()
    await this.db.close()
  }

  private nextKey (): string {
    this.seq += 1n
    return this.seq.toString(16).padStart(16, '0')
  }

  private enqueue (ops: JobOps): Promise<void> {
    return this.writer.enqueue(ops)
  }
}

function encodeTime (ms: number): Uint8Array {
  return Buffer.from(String(ms), 'latin1')
}

function decodeTime (value: Uint8Array): number | null {
  const ms = Number(Buffer.from(value).toString('latin1'))
  return Number.isFinite(ms) ? ms : null
}
