/**
 * The Redis store: each document is a LIST of updates plus a position
 * counter (see scripts.ts). `append` stores the updates and publishes them to
 * the other instances in one script, one round trip; it resolves once Redis
 * has them (so the document relays them only then: write-through).
 *
 * Versions (docs/history.md) sit under the document's hash tag too (keys.ts),
 * so on a cluster they live on the document's shard and its scripts touch
 * them together.
 */
import { randomBytes } from 'node:crypto'
import type { AppendResult, DocPage, DocStore, DocSummary, LogPosition, NewVersion, StoredDoc, StoredVersion, VersionClaim, VersionInfo, VersionUser } from '../store.js'
import { StoreError } from '../store.js'
import type { Logger } from '../../ops/log.js'
import { docKeys, DOCUMENTS_KEY, versionKeys } from './keys.js'
import { editorValue, newVersionId, parseRecord, recordHead } from '../versions.js'
import type { ScriptedClient } from './scripts.js'
import { whenReady } from './connect.js'
import type { AppliedPositions } from './positions.js'
import type { LogRange } from './feed.js'
import { appendArgs, positionOf, type AppendBatch } from './append-batch.js'

/** How long a load waits for Redis to come (back) before failing. */
const LOAD_WAIT_MS = 5_000
const PING_TIMEOUT_MS = 1_000
/** Names remembered as listed (see `indexed`); past this many the memory starts over. */
const INDEXED_MAX = 100_000

export interface RedisStoreOptions {
  client: ScriptedClient
  instanceId: string
  /** 'spublish' in a cluster (sharded pub/sub), else 'publish'. */
  publishCommand: 'publish' | 'spublish'
  positions: AppliedPositions
  /** Whether the pub/sub side is up too (for readiness). */
  busReady: () => boolean
  log: Logger
  /** Appends gathered into one script call per commit interval (standalone Redis); without it each goes at once. */
  appendBatch?: AppendBatch
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength)

export class RedisStore implements DocStore {
  readonly kind = 'redis'
  /**
   * The last append issued per document. Appends to one document go out one
   * after another: a client may reorder commands it retries (NOSCRIPT after a
   * Redis restart, cluster redirections), and the log must keep call order.
   */
  private readonly tails = new Map<string, Promise<unknown>>()
  /**
   * Documents this process made sure are in the listing. A document's first
   * write lists it; one stored before listings existed is listed on its
   * next write here, once per process (a ZADD, not waited for).
   */
  private readonly indexed = new Set<string>()

  constructor (private readonly opts: RedisStoreOptions) {}

  async load (name: string): Promise<StoredDoc> {
    await whenReady(this.opts.client, LOAD_WAIT_MS)
    const { seq, updates } = await this.read(name, 1)
    let bytes = 0
    for (const u of updates) bytes += u.length
    return { updates, position: seq === 0 ? null : String(seq), bytes }
  }

  /** Entries from position `from` on (from the snapshot, when `from` was folded into it). */
  async read (name: string, from: number): Promise<LogRange> {
    const keys = docKeys(name)
    const reply = await this.opts.client.quireReadBuffer(keys.log, keys.seq, String(from))
    if (reply.length === 0) return { seq: 0, updates: [] }
    return { seq: Number(reply[0].toString()), updates: reply.slice(1) }
  }

  append (name: string, updates: Uint8Array[]): Promise<AppendResult> {
    if (updates.length === 0) return Promise.reject(new StoreError('nothing to append'))
    const previous = this.tails.get(name)
    const result = previous === undefined ? this.write(name, updates) : previous.then(() => this.write(name, updates))
    const tail = result.catch(() => {})
    this.tails.set(name, tail)
    void tail.then(() => { if (this.tails.get(name) === tail) this.tails.delete(name) })
    return result
  }

  private async write (name: string, updates: Uint8Array[]): Promise<AppendResult> {
    const { client, instanceId, publishCommand, positions, appendBatch } = this.opts
    const keys = docKeys(name)
    const part = { keys, updates: updates.map(asBuffer) }
    const last = appendBatch ? await appendBatch.append(part) : positionOf((await client.quireAppend(...appendArgs([part], publishCommand, instanceId)))[0])
    positions.noteOwnAppend(name, last - updates.length, last)
    if (last === updates.length) await this.index(name)
    else if (!this.indexed.has(name)) this.index(name).catch((err: unknown) => this.opts.log.debug({ err, doc: name }, 'listing a document failed'))
    return { position: String(last) }
  }

  /**
   * The document's first write: into the listing. (A second Redis command,
   * in another slot in a cluster; `list` drops entries whose document is
   * gone, so a deletion that raced it leaves nothing wrong behind.)
   */
  private async index (name: string): Promise<void> {
    await this.opts.client.zadd(DOCUMENTS_KEY, 0, name)
    if (this.indexed.size >= INDEXED_MAX) this.indexed.clear()
    this.indexed.add(name)
  }

  async exists (name: string): Promise<boolean> {
    return await this.opts.client.exists(docKeys(name).seq) === 1
  }

  create (name: string, update: Uint8Array): Promise<boolean> {
    // In line with this instance's appends to the document, like an append.
    const previous = this.tails.get(name)
    const run = async (): Promise<boolean> => {
      const { client, instanceId, publishCommand, positions } = this.opts
      const keys = docKeys(name)
      const reply = await client.quireCreate(keys.log, keys.seq, keys.time, publishCommand, instanceId, keys.channel, '1', asBuffer(update))
      if (reply === 0) return false
      const last = positionOf(reply)
      positions.noteOwnAppend(name, 0, last)
      await this.index(name)
      return true
    }
    const result = previous === undefined ? run() : previous.then(run)
    const tail = result.catch(() => {})
    this.tails.set(name, tail)
    void tail.then(() => { if (this.tails.get(name) === tail) this.tails.delete(name) })
    return result
  }

  async delete (name: string): Promise<boolean> {
    const { client, instanceId, publishCommand } = this.opts
    const keys = docKeys(name)
    const existed = await client.quireDelete(keys.log, keys.seq, keys.time, publishCommand, keys.channel, instanceId) === 1
    await client.zrem(DOCUMENTS_KEY, name)
    this.indexed.delete(name)
    return existed
  }

  async list (prefix: string, cursor: string | null, limit: number): Promise<DocPage> {
    const { client } = this.opts
    const documents: DocSummary[] = []
    let from = cursor === null ? (prefix === '' ? '-' : `[${prefix}`) : `(${cursor}`
    const to = prefix === '' ? '+' : `(${prefixEnd(prefix)}`
    for (;;) {
      // One more than still wanted: whether a next page exists.
      const want = limit + 1 - documents.length
      const names = await client.zrangebylex(DOCUMENTS_KEY, from, to, 'LIMIT', 0, want)
      const infos = await Promise.all(names.map((name) => {
        const keys = docKeys(name)
        return client.quireInfo(keys.log, keys.seq, keys.time)
      }))
      for (const [i, name] of names.entries()) {
        const info = infos[i]
        if (info.length === 0) {
          // Deleted while its listing entry was being added: forget it.
          await client.zrem(DOCUMENTS_KEY, name)
          continue
        }
        if (documents.length === limit) return { documents, cursor: documents[limit - 1].name }
        documents.push({ name, bytes: Number(info[0]), updatedAt: info[1] === '' ? null : Number(info[1]) })
      }
      if (names.length < want) return { documents, cursor: null }
      from = `(${names[names.length - 1]}`
    }
  }

  /**
   * Folds entries into `snapshot`, but only up to what this instance has
   * applied without a gap: entries another instance appended before
   * `through` may not have reached this instance's Y.Doc yet, and the
   * snapshot does not hold them. Whatever is appended meanwhile stays: the
   * script only removes entries up to that position. The caller builds `snapshot` in the same
   * turn it calls this, so the applied position read here (synchronously,
   * before any await) is the one the snapshot covers.
   */
  async compact (name: string, snapshot: Uint8Array, through: LogPosition): Promise<void> {
    const applied = this.opts.positions.get(name)
    // A document not followed here has applied nothing since its load: the caller's word is all there is.
    const upTo = applied === undefined ? Number(through) : Math.min(Number(through), applied)
    if (!(upTo > 0)) return
    const keys = docKeys(name)
    const replaced = await this.opts.client.quireCompact(keys.log, keys.seq, String(upTo), asBuffer(snapshot))
    this.opts.log.debug({ doc: name, through: upTo, replaced }, 'log compacted')
  }

  async putVersion (name: string, version: NewVersion, state: Uint8Array): Promise<VersionInfo> {
    const k = versionKeys(name)
    const id = newVersionId(version.at)
    const record = await this.opts.client.quirePutVersion(k.ids, k.records, k.states, k.editors, id, recordHead(id, version, state.length), asBuffer(state))
    return parseRecord(record)
  }

  async listVersions (name: string, page: { before?: string, limit?: number } = {}): Promise<VersionInfo[]> {
    const k = versionKeys(name)
    const max = page.before === undefined ? '+' : `(${page.before}`
    const records = await this.opts.client.quireListVersions(k.ids, k.records, max, String(page.limit ?? -1))
    return records.map(parseRecord)
  }

  async getVersion (name: string, id: string): Promise<StoredVersion | null> {
    const k = versionKeys(name)
    const reply = await this.opts.client.quireGetVersionBuffer(k.records, k.states, id)
    if (reply.length < 2) return null
    return { info: parseRecord(reply[0].toString('utf8')), state: reply[1] }
  }

  async deleteVersions (name: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return
    const k = versionKeys(name)
    await this.opts.client.quireDeleteVersions(k.ids, k.records, k.states, ...ids)
  }

  async noteEditors (name: string, users: VersionUser[]): Promise<void> {
    if (users.length === 0) return
    await this.opts.client.hset(versionKeys(name).editors, Object.fromEntries(users.map((u) => [u.id, editorValue(u)])))
  }

  async claimVersion (name: string, ttlMs: number): Promise<VersionClaim | null> {
    const key = versionKeys(name).claim
    const holder = `${this.opts.instanceId}:${randomBytes(4).toString('hex')}`
    if (await this.opts.client.set(key, holder, 'PX', Math.max(1, Math.round(ttlMs)), 'NX') !== 'OK') return null
    return { release: async () => { await this.opts.client.quireRelease(key, holder) } }
  }

  async isReady (): Promise<boolean> {
    const { client } = this.opts
    if (client.status !== 'ready' || !this.opts.busReady()) return false
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS) })
    const ping = client.ping().then(() => true, () => false)
    const ready = await Promise.race([ping, timeout])
    clearTimeout(timer)
    return ready
  }

  async close (): Promise<void> {
    // Appends already made finish first: one may still wait for its group (append-batch.ts), which would
    // otherwise be sent after QUIT. (`tails` holds each document's last append, settled or not.)
    await Promise.allSettled([...this.tails.values()])
    await this.opts.client.quit().catch(() => this.opts.client.disconnect())
  }
}

/** The least string greater than every string that starts with `prefix` (in byte order). */
function prefixEnd (prefix: string): string {
  return prefix + '\u{10FFFF}'
}
