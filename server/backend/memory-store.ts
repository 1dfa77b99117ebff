/**
 * An in-memory store with the same contract, for unit tests of the layers
 * above the store. Nothing survives the process.
 */
import type { AppendResult, DocStore, LogPosition, StoredDoc } from './store.js'

export class MemoryStore implements DocStore {
  readonly kind = 'memory'
  private readonly docs = new Map<string, Array<{ position: number, update: Uint8Array }>>()
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
    return { position: String(this.seq) }
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
