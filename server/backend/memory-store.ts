/**
 * An in-memory store with the same contract, for unit tests of the layers
 * above the store. Nothing survives the process.
 */
import type { AppendResult, DocPage, DocStore, LogPosition, NewVersion, StoredDoc, StoredVersion, VersionClaim, VersionInfo, VersionUser } from './store.js'
import { editorValue, joinRecord, newVersionId, parseRecord, recordHead } from './versions.js'

interface DocVersions {
  /** id -> record and state; listed in id order. */
  versions: Map<string, { record: string, state: Uint8Array }>
  /** user id -> editor value, until the next version takes them. */
  editors: Map<string, string>
  /** Who claimed the next automatic version, until when (ms). */
  claim: { until: number, holder: object } | null
}

export class MemoryStore implements DocStore {
  readonly kind = 'memory'
  private readonly docs = new Map<string, Array<{ position: number, update: Uint8Array }>>()
  private readonly times = new Map<string, number>()
  private seq = 0
  private readonly history = new Map<string, DocVersions>()
  /** When set, every call fails with it (to test failure paths). */
  failWith: Error | null = null

  async load (name: string): Promise<StoredDoc> {
    this.check()
    const log = this.docs.get(name) ?? []
    return {
      updates: log.map((e) => e.update),
      position: log.length > 0 ? String(log[log.length - 1].position) : null,
      bytes: log.reduce((n, e) => n + e.update.length, 0),
    }
  }

  async append (name: string, updates: Uint8Array[]): Promise<AppendResult> {
    this.check()
    let log = this.docs.get(name)
    if (log === undefined) this.docs.set(name, log = [])
    for (const update of updates) log.push({ position: ++this.seq, update })
    this.times.set(name, Date.now())
    return { position: String(this.seq) }
  }

  async exists (name: string): Promise<boolean> {
    this.check()
    return this.docs.has(name)
  }

  async create (name: string, update: Uint8Array): Promise<boolean> {
    this.check()
    if (this.docs.has(name)) return false
    await this.append(name, [update])
    return true
  }

  async delete (name: string): Promise<boolean> {
    this.check()
    this.times.delete(name)
    return this.docs.delete(name)
  }

  async list (prefix: string, cursor: string | null, limit: number): Promise<DocPage> {
    this.check()
    // Byte order of the UTF-8 names, as the other stores keep them.
    const order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))
    const names = [...this.docs.keys()].filter((n) => n.startsWith(prefix) && (cursor === null || order(n, cursor) > 0)).sort(order)
    const page = names.slice(0, limit)
    return {
      documents: page.map((name) => ({
        name,
        bytes: this.docs.get(name)!.reduce((n, e) => n + e.update.length, 0),
        updatedAt: this.times.get(name) ?? null,
      })),
      cursor: names.length > limit ? page[page.length - 1] : null,
    }
  }

  async compact (name: string, snapshot: Uint8Array, through: LogPosition): Promise<void> {
    this.check()
    const log = this.docs.get(name) ?? []
    const upTo = Number(through)
    const rest = log.filter((e) => e.position > upTo)
    this.docs.set(name, [{ position: upTo, update: snapshot }, ...rest])
  }

  async putVersion (name: string, version: NewVersion, state: Uint8Array): Promise<VersionInfo> {
    this.check()
    const h = this.historyOf(name)
    const id = newVersionId(version.at)
    const record = joinRecord(recordHead(id, version, state.length), h.editors.values())
    h.editors.clear()
    h.versions.set(id, { record, state: state.slice() })
    return parseRecord(record)
  }

  async listVersions (name: string, page: { before?: string, limit?: number } = {}): Promise<VersionInfo[]> {
    this.check()
    const ids = [...this.historyOf(name).versions.keys()].sort().reverse()
      .filter((id) => page.before === undefined || id < page.before)
      .slice(0, page.limit ?? Infinity)
    return ids.map((id) => parseRecord(this.historyOf(name).versions.get(id)!.record))
  }

  async getVersion (name: string, id: string): Promise<StoredVersion | null> {
    this.check()
    const v = this.historyOf(name).versions.get(id)
    return v === undefined ? null : { info: parseRecord(v.record), state: v.state.slice() }
  }

  async deleteVersions (name: string, ids: string[]): Promise<void> {
    this.check()
    const h = this.historyOf(name)
    for (const id of ids) h.versions.delete(id)
  }

  async noteEditors (name: string, users: VersionUser[]): Promise<void> {
    this.check()
    const h = this.historyOf(name)
    for (const user of users) h.editors.set(user.id, editorValue(user))
  }

  async claimVersion (name: string, ttlMs: number): Promise<VersionClaim | null> {
    this.check()
    const h = this.historyOf(name)
    if (h.claim !== null && h.claim.until > Date.now()) return null
    const holder = {}
    h.claim = { until: Date.now() + ttlMs, holder }
    return { release: async () => { if (h.claim?.holder === holder) h.claim = null } }
  }

  async isReady (): Promise<boolean> { return this.failWith === null }
  async close (): Promise<void> {}

  private historyOf (name: string): DocVersions {
    let h = this.history.get(name)
    if (h === undefined) this.history.set(name, h = { versions: new Map(), editors: new Map(), claim: null })
    return h
  }

  private check (): void {
    if (this.failWith) throw this.failWith
  }
}
