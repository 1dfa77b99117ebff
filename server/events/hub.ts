/**
 * The event hub of one instance (docs/events.md): follows every loaded
 * document here (its clients' presence, its changes), hears the other
 * instances through the Live seam (server/backend/live.ts), turns all of it
 * into events (join, leave, typing, change), numbers and keeps them for
 * replay (ring.ts), and hands each to the streams that want it.
 *
 * Presence: each instance reports its own clients' users to the registry
 * and to the others; the mirror (mirror.ts) holds everyone's, and an event
 * is a change of the union. Activity: a document's changes made here are
 * reported at most once per EVENTS_ACTIVITY_MS (the first at once, the rest
 * of a burst at the end of the window), with everyone who made them.
 */
import type { Counter, Gauge } from 'prom-client'
import { ActivityLog, type Activity, type Live, type LiveSink, type PresentUser } from '../backend/live.js'
import type { SharedDocument } from '../document/document.js'
import type { DocumentRegistry, DocumentWatcher } from '../document/registry.js'
import type { Logger } from '../ops/log.js'
import { TrackedTimer } from '../ops/timers.js'
import { LocalUsers } from './local-users.js'
import { PresenceMirror, type PresenceEvent } from './mirror.js'
import { EventRing, type LiveEvent } from './ring.js'

/** A document in a `reset` snapshot. */
export interface DocSnapshot {
  doc: string
  users: PresentUser[]
  lastChange: Activity | null
}

/** A stream, as the hub sees it. */
export interface EventListener {
  wants (doc: string): boolean
  send (event: LiveEvent, id: string): void
}

export interface HubOptions {
  registry: DocumentRegistry
  live: Live
  log: Logger
  /** EVENTS_BUFFER, EVENTS_RETENTION_MS: what is kept for replay. */
  bufferSize: number
  retentionMs: number
  /** EVENTS_ACTIVITY_MS: a document's changes are reported at most once per this. */
  activityMs: number
  /** quire_timers_active */
  timers: Gauge
  /** quire_events_total, by type */
  counted: Counter
}

interface Watched {
  users: LocalUsers
  /** Who changed it since the last report. */
  authors: Map<string, { id: string, name: string }>
  /** When the last change not yet reported was made, or 0. */
  changedAt: number
  lastReport: number
  timer: TrackedTimer | null
  unsubscribe: Array<() => void>
}

export class EventHub implements LiveSink, DocumentWatcher {
  readonly ring: EventRing
  private readonly mirror = new PresenceMirror()
  private readonly activities = new ActivityLog()
  private readonly watched = new Map<SharedDocument, Watched>()
  private readonly listeners = new Set<EventListener>()
  private unwatch: (() => void) | null = null

  constructor (private readonly opts: HubOptions) {
    this.ring = new EventRing(opts.bufferSize, opts.retentionMs)
  }

  get streams (): number { return this.listeners.size }

  /** Follow the documents and the other instances. Resolves once the cross-instance channel is up (or failed; it retries). */
  async start (): Promise<void> {
    this.unwatch = this.opts.registry.watch(this)
    for (const doc of this.opts.registry.documents()) this.loaded(doc)
    await this.opts.live.start(this).catch((err: unknown) => this.opts.log.warn({ err }, 'live events: other instances not heard yet'))
  }

  async close (): Promise<void> {
    this.unwatch?.()
    for (const doc of [...this.watched.keys()]) this.unloaded(doc)
    this.listeners.clear()
    await this.opts.live.close()
  }

  subscribe (listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** What `Last-Event-ID` missed for a stream, or null when it cannot be told (then: reset). */
  replay (lastEventId: string, wants: (doc: string) => boolean): LiveEvent[] | null {
    const seq = this.ring.seqOf(lastEventId)
    if (seq === null) return null
    return this.ring.after(seq)?.filter((e) => wants(e.doc)) ?? null
  }

  /**
   * The present state of the `named` documents, and with `scan`, of every
   * other document this instance knows of (someone in it, or a change
   * heard) that `wants` takes, up to `max` of those.
   */
  snapshot (named: readonly string[], scan: boolean, wants: (doc: string) => boolean, max: number): DocSnapshot[] {
    const names = new Set(named)
    if (scan) {
      const known = new Set<string>()
      for (const doc of this.mirror.names()) if (wants(doc) && !names.has(doc)) known.add(doc)
      for (const [doc] of this.activities.entries()) if (wants(doc) && !names.has(doc)) known.add(doc)
      for (const doc of [...known].sort().slice(0, max)) names.add(doc)
    }
    return [...names].map((doc) => ({ doc, users: this.mirror.users(doc), lastChange: this.activities.get(doc) }))
  }

  /**
   * Read the registry for these documents (a stream that names them is
   * about to start): users not heard of yet are added (with their events),
   * and a last activity from before this instance started is learnt.
   */
  async refresh (docs: string[]): Promise<void> {
    await Promise.all(docs.map(async (doc) => {
      // Versions as of the read's start: a change heard meanwhile wins.
      const versions = this.mirror.versions(doc)
      const reading = this.opts.live.read(doc)
      let read
      try {
        read = await reading
      } catch (err) {
        this.opts.log.warn({ err, doc }, 'presence registry not readable; the stream starts from what this instance heard')
        return
      }
      this.emitPresence(this.mirror.merge(doc, read.users, versions))
      const known = this.activities.get(doc)
      if (read.activity !== null && (known === null || known.at < read.activity.at)) this.activities.note(doc, read.activity)
    }))
  }

  // ---- documents loaded here (DocumentWatcher) ----------------------------

  loaded (doc: SharedDocument): void {
    if (this.watched.has(doc)) return
    const w: Watched = { users: new LocalUsers(), authors: new Map(), changedAt: 0, lastReport: -Infinity, timer: null, unsubscribe: [] }
    this.watched.set(doc, w)
    w.unsubscribe.push(doc.onPresence((entries) => {
      const change = w.users.apply(entries)
      if (change !== null) this.localPresence(doc.name, change.users, change.gone)
    }))
    w.unsubscribe.push(doc.observe((_updates, origin, authors) => {
      if (origin !== 'local') return // the instance that made it reports it
      for (const peer of authors) {
        const user = peer === null ? null : w.users.authorOf(peer)
        if (user !== null) w.authors.set(user.id, user)
      }
      w.changedAt = Date.now()
      this.scheduleReport(doc.name, w)
    }))
  }

  unloaded (doc: SharedDocument): void {
    const w = this.watched.get(doc)
    if (w === undefined) return
    this.watched.delete(doc)
    for (const stop of w.unsubscribe) stop()
    w.timer?.clear()
    if (w.changedAt > 0) this.reportActivity(doc.name, w)
    const gone = w.users.ids()
    if (gone.length > 0) this.localPresence(doc.name, [], gone)
  }

  // ---- other instances (LiveSink) -----------------------------------------

  presence (instance: string, doc: string, users: PresentUser[], gone: string[], whole: boolean): void {
    this.emitPresence(this.mirror.apply(instance, doc, users, gone, whole))
  }

  report (instance: string, docs: Map<string, PresentUser[]>): void {
    this.emitPresence(this.mirror.replaceInstance(instance, docs))
  }

  activity (doc: string, activity: Activity): void {
    this.activities.note(doc, activity)
    this.emit('change', doc, { doc, at: activity.at, by: activity.by })
  }

  instancesGone (instances: string[]): void {
    this.emitPresence(this.mirror.dropInstances(instances))
  }

  // ---- inside -------------------------------------------------------------

  private localPresence (doc: string, users: PresentUser[], gone: string[]): void {
    this.opts.live.presence(doc, users, gone)
    this.emitPresence(this.mirror.apply(this.opts.live.instanceId, doc, users, gone))
  }

  private scheduleReport (doc: string, w: Watched): void {
    if (w.timer !== null) return
    const wait = w.lastReport + this.opts.activityMs - Date.now()
    if (wait <= 0) return this.reportActivity(doc, w)
    w.timer = new TrackedTimer(this.opts.timers, () => {
      w.timer = null
      this.reportActivity(doc, w)
    }, wait)
  }

  private reportActivity (doc: string, w: Watched): void {
    const activity: Activity = { at: w.changedAt, by: [...w.authors.values()] }
    w.authors.clear()
    w.changedAt = 0
    w.lastReport = Date.now()
    this.opts.live.activity(doc, activity)
    this.activity(doc, activity)
  }

  private emitPresence (events: PresenceEvent[]): void {
    for (const e of events) {
      const user = e.type === 'leave' ? { id: e.user.id, name: e.user.name } : e.user
      this.emit(e.type, e.doc, e.type === 'typing' ? { doc: e.doc, user, typing: e.user.typing } : { doc: e.doc, user })
    }
  }

  private emit (type: LiveEvent['type'], doc: string, body: Record<string, unknown>): void {
    const now = Date.now()
    const event = this.ring.push(type, doc, JSON.stringify({ ...body, at: (body.at as number | undefined) ?? now }), now)
    this.opts.counted.inc({ type })
    const id = this.ring.idOf(event.seq)
    for (const listener of this.listeners) if (listener.wants(doc)) listener.send(event, id)
  }
}
