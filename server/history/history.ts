/**
 * Version history of documents (docs/history.md): taking versions (full
 * snapshots, in the document's own store), reading them in any content
 * format, diffing two of them, restoring one as a forward change, and
 * thinning old ones by the retention policy after each new version.
 *
 * A version identical in content to the document's latest is not taken
 * again (except on demand): the content is compared as Yjs snapshots (state
 * vector and delete set), which every instance computes alike.
 */
import * as Y from 'yjs'
import type { DocStore, VersionInfo, VersionReason, VersionUser } from '../backend/store.js'
import type { SharedDocument } from '../document/document.js'
import type { Metrics } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'
import { renderContent, type ContentFormat } from '../content/formats.js'
import { diffTexts, renderDiff, type DiffFormat, type RenderedDiff } from './diff.js'
import { restoreUpdate } from './restore.js'
import { versionsToDrop, type RetentionPolicy } from './retention.js'

/** Documents whose latest version's snapshot is remembered here (the oldest remembered is forgotten first). */
const LATEST_CACHE_SIZE = 1000

/** The document as it is now, where a version id is expected (diffs). */
export const CURRENT = 'current'

export interface HistoryDeps {
  store: DocStore
  metrics: Metrics
  log: Logger
  retention: RetentionPolicy
  /** The clock versions are stamped with (tests move it). */
  now?: () => number
}

export interface TakeOptions {
  label?: string
  by?: VersionUser
  /** Take it even when the content equals the latest version's (versions on demand). */
  always?: boolean
  /** Note these users as editors just before the version is stored (when it is). */
  editors?: VersionUser[]
}

/** The outcome of taking a version: the new one, or the latest when nothing changed since. */
export interface Taken {
  version: VersionInfo | null
  created: boolean
}

export class VersionNotFound extends Error {}

export class History {
  /** Per document: the latest version known here and its content snapshot. */
  private readonly latest = new Map<string, { id: string, snapshot: Y.Snapshot }>()
  private readonly now: () => number
  private readonly takenListeners = new Set<(name: string) => void>()

  constructor (private readonly deps: HistoryDeps) {
    this.now = deps.now ?? Date.now
  }

  get maxVersions (): number { return this.deps.retention.maxVersions }

  /** Call `listener` with the document's name whenever a version of it is taken here. */
  onTaken (listener: (name: string) => void): () => void {
    this.takenListeners.add(listener)
    return () => { this.takenListeners.delete(listener) }
  }

  /**
   * Take a version of `doc` as it is now (once durable). Not taken when its
   * content equals the latest version's (unless `always`), nor for a
   * document that was never written.
   */
  async take (doc: SharedDocument, reason: VersionReason, opts: TakeOptions = {}): Promise<Taken> {
    const state = await doc.readState()
    const snapshot = snapshotOf(state)
    if (snapshot.sv.size === 0) return { version: null, created: false }
    if (opts.always !== true) {
      const latest = await this.latestOf(doc.name)
      if (latest !== null && Y.equalSnapshots(latest.snapshot, snapshot)) return { version: latest.info, created: false }
    }
    if (opts.editors !== undefined && opts.editors.length > 0) await this.deps.store.noteEditors(doc.name, opts.editors)
    const version = await this.deps.store.putVersion(doc.name, { at: this.now(), reason, label: opts.label, by: opts.by }, state)
    this.remember(doc.name, version.id, snapshot)
    this.deps.metrics.versions.inc({ reason })
    for (const listener of this.takenListeners) listener(doc.name)
    await this.thin(doc.name)
    return { version, created: true }
  }

  /**
   * A version of what `doc` holds before it is overwritten (a restore, a
   * PUT of new content): call it, and await it, before changing the document.
   */
  snapshotBefore (doc: SharedDocument, reason: 'before-restore' | 'before-put', by?: VersionUser): Promise<Taken> {
    return this.take(doc, reason, { by })
  }

  /**
   * Name these users among the editors of the next version (for a route
   * that changes a document on someone's behalf: the change itself carries
   * no connection, so nobody else would name them).
   */
  noteEditors (name: string, users: VersionUser[]): Promise<void> {
    return this.deps.store.noteEditors(name, users)
  }

  list (name: string, page: { before?: string, limit: number }): Promise<VersionInfo[]> {
    return this.deps.store.listVersions(name, page)
  }

  /** The version's content in `format` (docs/api.md's formats). */
  async render (name: string, id: string, format: ContentFormat): Promise<{ info: VersionInfo, body: string | Uint8Array, contentType: string }> {
    const stored = await this.deps.store.getVersion(name, id)
    if (stored === null) throw new VersionNotFound(id)
    return { info: stored.info, ...withDoc(stored.state, (ydoc) => renderContent(ydoc, format)) }
  }

  /** What changed from `from` to `to` (version ids, or CURRENT with `doc`). */
  async diff (name: string, from: string, to: string, format: DiffFormat, doc: () => Promise<SharedDocument>): Promise<RenderedDiff> {
    const [before, after] = await Promise.all([this.textOf(name, from, doc), this.textOf(name, to, doc)])
    return renderDiff(diffTexts(before, after), format, { from, to })
  }

  /**
   * Make `doc` read as version `id` again, as a forward change that live
   * editors see: first a 'before-restore' version of what it holds now.
   * Resolves once the change is durable.
   */
  async restore (doc: SharedDocument, id: string, by?: VersionUser): Promise<{ restored: VersionInfo, before: VersionInfo | null }> {
    const stored = await this.deps.store.getVersion(doc.name, id)
    if (stored === null) throw new VersionNotFound(id)
    const before = await this.snapshotBefore(doc, 'before-restore', by)
    const update = restoreUpdate(await doc.readState(), stored.state)
    if (update !== null) {
      // Whoever restored edited the document: the next version names them.
      if (by !== undefined) await this.noteEditors(doc.name, [by])
      await doc.applyUpdate(update)
    }
    return { restored: stored.info, before: before.version }
  }

  /** Apply the retention policy to one document's versions. */
  async thin (name: string): Promise<void> {
    try {
      const drop = versionsToDrop(await this.deps.store.listVersions(name), this.now(), this.deps.retention)
      if (drop.length === 0) return
      await this.deps.store.deleteVersions(name, drop)
      this.deps.metrics.versionsThinned.inc(drop.length)
    } catch (err) {
      // The next version thins again; nothing is lost by waiting.
      this.deps.log.warn({ err, doc: name }, 'thinning versions failed')
    }
  }

  private async textOf (name: string, id: string, doc: () => Promise<SharedDocument>): Promise<string> {
    if (id === CURRENT) return textContent(await (await doc()).readState())
    const stored = await this.deps.store.getVersion(name, id)
    if (stored === null) throw new VersionNotFound(id)
    return textContent(stored.state)
  }

  /** The latest version of a document and its snapshot (read again when another instance took a newer one). */
  private async latestOf (name: string): Promise<{ info: VersionInfo, snapshot: Y.Snapshot } | null> {
    const [info] = await this.deps.store.listVersions(name, { limit: 1 })
    if (info === undefined) return null
    const known = this.latest.get(name)
    if (known?.id === info.id) return { info, snapshot: known.snapshot }
    const stored = await this.deps.store.getVersion(name, info.id)
    if (stored === null) return null
    const snapshot = snapshotOf(stored.state)
    this.remember(name, info.id, snapshot)
    return { info, snapshot }
  }

  private remember (name: string, id: string, snapshot: Y.Snapshot): void {
    this.latest.delete(name)
    this.latest.set(name, { id, snapshot })
    if (this.latest.size > LATEST_CACHE_SIZE) this.latest.delete(this.latest.keys().next().value!)
  }
}

/** Run `fn` on a Y.Doc built from `state`, then free it. */
function withDoc<T> (state: Uint8Array, fn: (ydoc: Y.Doc) => T): T {
  const ydoc = new Y.Doc()
  try {
    Y.applyUpdate(ydoc, state)
    return fn(ydoc)
  } finally {
    ydoc.destroy()
  }
}

function snapshotOf (state: Uint8Array): Y.Snapshot {
  return withDoc(state, (ydoc) => Y.snapshot(ydoc))
}

function textContent (state: Uint8Array): string {
  const { body } = withDoc(state, (ydoc) => renderContent(ydoc, 'text'))
  return typeof body === 'string' ? body : new TextDecoder().decode(body)
}
