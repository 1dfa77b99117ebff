/**
 * An in-memory store with the same contract, for unit tests of the layers
 * above the store. Nothing survives the process.
 */
import type { AppendResult, DocPage, DocStore, LogPosition, StoredDoc } from './store.js'

export class MemoryStore implements DocStore {
  readonly kind = 'memory'
  private readonly docs = new Map<string, Array<{ position: number, update: Uint8Array }>>()
  private readonly times = new Map<string, number>()
  private seq = 0
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

  async isReady (): Promise<boolean> { return this.failWith === null }
  async close (): Promise<void> {}

  private check (): void {
    if (this.failWith) throw this.failWith
  }
}
