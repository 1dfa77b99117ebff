/**
 * Loaded documents by name. One load per document at a time: whoever asks
 * while it loads waits for the same load, and a failed load leaves nothing
 * behind (so nothing can ever be stored over what the store holds). When the
 * last holder releases a document, it unloads once everything it received is
 * durable, unless someone opened it again meanwhile. A document tainted by
 * a half-applied update (see SharedDocument.taint) is never handed out
 * again: whoever asks waits for it to unload and gets a fresh load.
 *
 * Features that follow every loaded document (the live events, history)
 * register with `watch`: told of each document once loaded (they may hand
 * back work to finish before it unloads) and once unloaded.
 */
import { SharedDocument, type DocumentDeps } from './document.js'


interface Entry {
  refs: number
  /** idle: no holders, waiting for durability before unloading; may be revived. */
  state: 'loading' | 'ready' | 'idle' | 'unloading'
  loaded: Promise<SharedDocument>
  doc: SharedDocument | null
  /** Set while unloading; resolves when the entry is gone. */
  unloaded: Promise<void> | null
  /** Resolves when the entry leaves the registry, however it does. */
  removed: Promise<void>
  /** What the load listeners asked to run before unloading. */
  beforeUnload: Array<() => Promise<void>>
  markRemoved: () => void
}

/** Told when a document has loaded and when it has unloaded (server-side features that follow every document). */
export interface DocumentWatcher {
  /** What it returns, if anything, runs (awaited) before that document unloads. */
  loaded (doc: SharedDocument): (() => Promise<void>) | void
  unloaded? (doc: SharedDocument): void
}

export class DocumentRegistry {
  private readonly entries = new Map<string, Entry>()
  private readonly watchers = new Set<DocumentWatcher>()

  constructor (private readonly deps: DocumentDeps) {}

  get size (): number { return this.entries.size }

  /** Loaded (or loading) documents, for housekeeping and shutdown. */
  documents (): SharedDocument[] {
    const docs: SharedDocument[] = []
    for (const e of this.entries.values()) if (e.doc) docs.push(e.doc)
    return docs
  }

  /** Follow every document's loads and unloads from now on; returns the unsubscribe. */
  watch (watcher: DocumentWatcher): () => void {
    this.watchers.add(watcher)
    return () => { this.watchers.delete(watcher) }
  }

  /** Open a document and hold it until `release`. Rejects when it cannot be loaded. */
  async acquire (name: string): Promise<SharedDocument> {
    for (;;) {
      const entry = this.entries.get(name)
      if (entry === undefined) break
      if (entry.state === 'unloading' || entry.doc?.isTainted) {
        await entry.removed
        continue
      }
      entry.refs++
      try {
        return await entry.loaded
      } catch (err) {
        entry.refs--
        throw err
      }
    }
    let markRemoved!: () => void
    const removed = new Promise<void>((resolve) => { markRemoved = resolve })
    const entry: Entry = { refs: 1, state: 'loading', loaded: null!, doc: null, unloaded: null, removed, markRemoved, beforeUnload: [] }
    entry.loaded = this.load(name).then((doc) => {
      entry.doc = doc
      entry.state = 'ready'
      this.deps.metrics.documentsLoaded.set(this.entries.size)
      for (const w of this.watchers) {
        try {
          const hook = w.loaded(doc)
          if (hook) entry.beforeUnload.push(hook)
        } catch (err) {
          this.deps.log.error({ err, doc: name }, 'document watcher failed')
        }
      }
      return doc
    }, (err: unknown) => {
      this.remove(entry, name)
      throw err
    })
    this.entries.set(name, entry)
    return entry.loaded
  }

  private async load (name: string): Promise<SharedDocument> {
    const stored = await this.deps.store.load(name)
    const doc = new SharedDocument(name, stored, this.deps)
    try {
      await this.deps.bus.subscribe(name, stored.position, doc)
    } catch (err) {
      await doc.destroy(false)
      throw err
    }
    return doc
  }

  release (doc: SharedDocument): void {
    const entry = this.entries.get(doc.name)
    if (entry === undefined || entry.doc !== doc) return
    entry.refs--
    if (entry.refs > 0 || entry.state !== 'ready') return
    entry.state = 'idle'
    entry.unloaded = this.unload(entry, doc)
  }

  private async unload (entry: Entry, doc: SharedDocument): Promise<void> {
    await doc.whenDurable()
    if (entry.refs > 0 && !doc.isTainted) {
      // Someone came back while we waited; keep serving.
      entry.state = 'ready'
      entry.unloaded = null
      return
    }
    entry.state = 'unloading'
    for (const hook of entry.beforeUnload) await hook().catch((err: unknown) => this.deps.log.error({ err, doc: doc.name }, 'work before unloading failed'))
    // Destroy (and compact) while still subscribed: the bus knows how far
    // this document has applied the log, which bounds what may be compacted.
    await doc.destroy()
    for (const w of this.watchers) w.unloaded?.(doc)
    try {
      await this.deps.bus.unsubscribe(doc.name)
    } catch (err) {
      this.deps.log.warn({ err, doc: doc.name }, 'unsubscribe failed')
    }
    this.remove(entry, doc.name)
  }

  private remove (entry: Entry, name: string): void {
    if (this.entries.get(name) === entry) this.entries.delete(name)
    this.deps.metrics.documentsLoaded.set(this.entries.size)
    entry.markRemoved()
  }

  /**
   * The document was deleted: close its connections with `code` and
   * `reason` and unload it without writing anything more (no compaction).
   * Resolves once it is gone from here, after what it had already received
   * is durable (so that the deletion comes after it); the next `acquire`
   * loads it afresh. Holders that still have it find their `release` a no-op.
   */
  async evict (name: string, code: number, reason: string): Promise<void> {
    const entry = this.entries.get(name)
    if (entry === undefined) return
    if (entry.state === 'unloading') return entry.removed
    let doc: SharedDocument
    try {
      doc = await entry.loaded
    } catch {
      return // the failed load removed it
    }
    if (this.entries.get(name) !== entry || (entry.state as Entry['state']) === 'unloading') return entry.removed
    entry.state = 'unloading'
    doc.end(code, reason)
    await doc.whenDurable().catch(() => {})
    await doc.destroy(false)
    try {
      await this.deps.bus.unsubscribe(name)
    } catch (err) {
      this.deps.log.warn({ err, doc: name }, 'unsubscribe failed')
    }
    this.remove(entry, name)
  }

  /** Wait until every loaded document's updates are durable. */
  async flushAll (): Promise<void> {
    await Promise.all(this.documents().map((d) => d.whenDurable()))
  }

  /** Unload everything (shutdown); documents must have no peers left. */
  async closeAll (): Promise<void> {
    await this.flushAll()
    for (const entry of [...this.entries.values()]) {
      if (entry.doc && entry.state === 'ready') {
        entry.refs = 0
        entry.state = 'idle'
        entry.unloaded = this.unload(entry, entry.doc)
      }
    }
    await Promise.all([...this.entries.values()].map((e) => e.unloaded))
  }
}
