/**
 * Automatic versions (docs/history.md, "When versions are taken"): while a
 * document is edited here, a version is owed; it is taken once the document
 * has had no edit (here or on another instance) for `quietMs`, at least every
 * `maxIntervalMs` of continuous editing, and when the document unloads.
 *
 * Only instances where edits were made owe a version. Who edited is noted in
 * the store when they edit (again at most every half the shorter of the two
 * periods), and the instance that takes the version notes its own editors
 * once more, so whichever instance takes it names everyone, wherever they
 * edited. When several instances owe one at once, the store's claim lets
 * one take it at a time; the others look again a little later, and take one
 * only if the content then differs from the latest version (a change that
 * had not reached the winner yet).
 */
import type { Gauge } from 'prom-client'
import type { DocStore, VersionUser } from '../backend/store.js'
import type { DocumentRegistry } from '../document/registry.js'
import type { ChangeOrigin, Peer, SharedDocument } from '../document/document.js'
import { TrackedTimer } from '../ops/timers.js'
import type { Logger } from '../ops/log.js'
import type { History } from './history.js'

/** Longest an instance may hold the claim to take a version (it gives it up as soon as it is done). */
const CLAIM_MS = 30_000

/** Who edited through a connection nobody verified (open mode). */
export const ANONYMOUS: VersionUser = { id: 'anonymous' }

export interface AutoVersionOptions {
  quietMs: number
  maxIntervalMs: number
  /** quire_timers_active: every timer here is counted. */
  timers: Gauge
}

/** A version owed for one document. */
interface Owed {
  /** Who edited here since the last version taken here, and when each was last noted in the store. */
  editors: Map<string, { user: VersionUser, notedAt: number }>
  /** When it became owed: it is due maxIntervalMs later at the latest. */
  since: number
  /** When it is due: quietMs after the last change, or maxIntervalMs after `since`, whichever first. */
  dueAt: number
  /**
   * Fires at `timerAt`, at or before `dueAt`: a change only moves `dueAt`
   * (a timer per keystroke cost more than the rest of the edit's bookkeeping),
   * and a timer that fires early is set again for the rest.
   */
  timer: TrackedTimer | null
  timerAt: number
}

export class AutoVersions {
  private readonly owed = new Map<SharedDocument, Owed>()
  /** Versions being taken now, by document (one at a time per document). */
  private readonly taking = new Map<SharedDocument, Promise<void>>()
  private readonly stops: Array<() => void> = []

  constructor (
    private readonly history: History,
    private readonly store: DocStore,
    private readonly log: Logger,
    private readonly opts: AutoVersionOptions,
  ) {}

  /** Follow every document `registry` loads from now on. */
  start (registry: DocumentRegistry): void {
    this.stops.push(registry.watch({ loaded: (doc) => this.follow(doc) }), this.history.onTaken((name) => this.taken(name)))
  }

  stop (): void {
    for (const stop of this.stops.splice(0)) stop()
  }

  /** Follow one document; what it returns settles the version it owes before it unloads. */
  follow (doc: SharedDocument): () => Promise<void> {
    // One entry per connection whose updates the change holds (server-side changes name nobody).
    const unobserve = doc.observe((_updates, origin, authors) => this.changed(doc, origin, [...authors].flatMap((peer) => peer === null ? [] : [peer.user])))
    return async () => {
      unobserve()
      if (doc.isTainted) {
        this.forget(doc)
        return
      }
      await this.taking.get(doc)
      if (this.owed.has(doc)) await this.due(doc, false)
    }
  }

  /** Versions owed now (tests, metrics). */
  get owing (): number { return this.owed.size }

  private changed (doc: SharedDocument, origin: ChangeOrigin, editors: ReadonlyArray<Peer['user']>): void {
    let owed = this.owed.get(doc)
    if (origin === 'remote') {
      // Quiet means quiet everywhere: another instance's edit restarts the wait of a version owed here.
      if (owed !== undefined) this.arm(doc, owed)
      return
    }
    if (owed === undefined) {
      owed = { editors: new Map(), since: Date.now(), dueAt: 0, timer: null, timerAt: 0 }
      this.owed.set(doc, owed)
    }
    // Noted again now and then: a version another instance took may have taken them meanwhile.
    const now = Date.now()
    const renoteMs = Math.min(this.opts.quietMs, this.opts.maxIntervalMs) / 2
    const toNote: VersionUser[] = []
    for (const user of editors) {
      const who = user === null ? ANONYMOUS : user.name === undefined ? { id: user.id } : { id: user.id, name: user.name }
      const known = owed.editors.get(who.id)
      if (known !== undefined && now - known.notedAt < renoteMs) continue
      owed.editors.set(who.id, { user: who, notedAt: now })
      toNote.push(who)
    }
    if (toNote.length > 0) {
      this.store.noteEditors(doc.name, toNote).catch((err: unknown) => this.log.warn({ err, doc: doc.name }, 'noting editors failed'))
    }
    this.arm(doc, owed)
  }

  /** A version of `name` was taken here (any reason): it took the editors noted so far; those who edit next are noted anew. */
  private taken (name: string): void {
    for (const [doc, owed] of this.owed) if (doc.name === name) owed.editors.clear()
  }

  private arm (doc: SharedDocument, owed: Owed): void {
    owed.dueAt = Math.min(Date.now() + this.opts.quietMs, owed.since + this.opts.maxIntervalMs)
    if (owed.timer === null || owed.timerAt > owed.dueAt) this.setTimer(doc, owed)
  }

  private setTimer (doc: SharedDocument, owed: Owed): void {
    owed.timer?.clear()
    const now = Date.now()
    owed.timerAt = Math.max(now, owed.dueAt)
    owed.timer = new TrackedTimer(this.opts.timers, () => {
      owed.timer = null
      if (Date.now() < owed.dueAt) this.setTimer(doc, owed)
      else this.fire(doc)
    }, owed.timerAt - now)
  }

  /** A version is due: take it, after any being taken now. */
  private fire (doc: SharedDocument): void {
    const before = this.taking.get(doc) ?? Promise.resolve()
    const taking: Promise<void> = before.then(() => this.due(doc, true)).finally(() => {
      if (this.taking.get(doc) === taking) this.taking.delete(doc)
    })
    this.taking.set(doc, taking)
  }

  /** Take the version owed for `doc` (if another instance is taking one now, look again later when `retry`). */
  private async due (doc: SharedDocument, retry: boolean): Promise<void> {
    const owed = this.forget(doc)
    if (owed === undefined) return
    try {
      const claim = await this.store.claimVersion(doc.name, CLAIM_MS)
      if (claim === null) {
        // Another instance is taking one now; it may not hold every change made here yet.
        if (retry) this.lookAgain(doc, Math.min(this.opts.quietMs, this.opts.maxIntervalMs))
        return
      }
      try {
        // Everyone who edited here, again, in case a version another instance took has taken them.
        await this.history.take(doc, 'auto', { editors: [...owed.editors.values()].map((e) => e.user) })
      } finally {
        await claim.release()
      }
    } catch (err) {
      this.log.warn({ err, doc: doc.name }, 'automatic version failed')
      // Still owed: try again after another quiet period.
      if (retry) this.lookAgain(doc, this.opts.quietMs)
    }
  }

  /**
   * Owe a version again, due in `ms` (unless edits come first). Who edited
   * is not carried over: they were noted in the store when they edited, and
   * the version taken meanwhile, or the next one, has them.
   */
  private lookAgain (doc: SharedDocument, ms: number): void {
    if (this.owed.has(doc)) return
    const owed: Owed = { editors: new Map(), since: Date.now(), dueAt: Date.now() + ms, timer: null, timerAt: 0 }
    this.owed.set(doc, owed)
    this.setTimer(doc, owed)
  }

  private forget (doc: SharedDocument): Owed | undefined {
    const owed = this.owed.get(doc)
    if (owed === undefined) return undefined
    owed.timer?.clear()
    this.owed.delete(doc)
    return owed
  }
}
