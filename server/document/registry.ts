/**
 * Loaded documents by name. One load per document at a time: whoever asks
 * while it loads waits for the same load, and a failed load leaves nothing
 * behind (so nothing can ever be stored over what the store holds). When the
 * last holder releases a document, it unloads once everything it received is
 * durable, unless someone opened it again meanwhile. A document tainted by
 * a half-applied update (see SharedDocument.taint) is never handed out
 * again: whoever asks waits for it to unload and gets a fresh load.
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
  markRemoved: () => void
}

export class DocumentRegistry {
  private readonly entries = new Map<string, Entry>()
  private readonly loadedListeners = new Set<(doc: SharedDocument) => void>()

  constructor (private readonly deps: DocumentDeps) {}

  get size (): number { return this.entries.size }

  /** Loaded (or loading) documents, for housekeeping and shutdown. */
  documents (): SharedDocument[] {
    const docs: SharedDocument[] = []
    for (const e of this.entries.values()) if (e.doc) docs.push(e.doc)
    return docs
  }

  /**
   * Call `listener` with every document once it has loaded (server-side
   * features that watch every document: webhooks); returns the unsubscribe.
   */
  onLoaded (listener: (doc: SharedDocument) => void): () => void {
    this.loadedListeners.add(listener)
    return () => { this.loadedListeners.delete(listener) }
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
    const entry: Entry = { refs: 1, state: 'loading', loaded: null!, doc: null, unloaded: null, removed, markRemoved }
    entry.loaded = this.load(name).then((doc) => {
      entry.doc = doc
      entry.state = 'ready'
      this.deps.metrics.documentsLoaded.set(this.entries.size)
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
    for (const listener of this.loadedListeners) {
      try {
        listener(doc)
      } catch (err) {
        this.deps.log.error({ err, doc: name }, 'document load listener failed')
      }
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
    // Destroy (and compact) while still subscribed: the bus knows how far
    // this document has applied the log, which bounds what may be compacted.
    await doc.destroy()
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
