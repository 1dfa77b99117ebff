/**
 * The cross-instance seam of the live event stream (docs/events.md): the
 * presence registry (which users are in each document, per instance) and
 * the news instances tell each other (presence changes, document activity).
 * Like the store and the bus it has two implementations: `LocalLive` here,
 * in memory, for the embedded backend (one instance), and the Redis one
 * (redis/live.ts), where any instance can answer for every other.
 *
 * Each instance reports only its own clients; who is in a document is the
 * union over the instances that are alive.
 */

/** A user present in a document (the `user` of their awareness state; with auth on, the token's). */
export interface PresentUser {
  id: string
  name: string
  /** Their colour, when their client gave one. */
  color?: string
  /** Whether any of their clients says it is typing (the editor's `typing` awareness field). */
  typing: boolean
  /** Milliseconds since the epoch at which they arrived. */
  since: number
}

/** Who changed a document, when (debounced: one report stands for a burst of changes). */
export interface Activity {
  /** Milliseconds since the epoch of the latest change it reports. */
  at: number
  /** The users whose changes it covers, where known (a change made through the HTTP API has none). */
  by: Array<{ id: string, name: string }>
}

/** What the registry holds for one document. */
export interface PresenceReading {
  /** Instance id -> its users in the document (live instances only). */
  users: Map<string, PresentUser[]>
  /** The last activity reported, if any is still kept. */
  activity: Activity | null
}

/** What a Live implementation tells the event hub of this instance. */
export interface LiveSink {
  /**
   * Users of another instance in `doc` changed: `users` are added or
   * updated, `gone` (user ids) left. With `whole`, `users` is its entire list.
   */
  presence (instance: string, doc: string, users: PresentUser[], gone: string[], whole: boolean): void
  /** Another instance's full report (an answer to "who is where?"): every document it has users in. */
  report (instance: string, docs: Map<string, PresentUser[]>): void
  /** A document changed on another instance. */
  activity (doc: string, activity: Activity): void
  /** These instances stopped heartbeating: their users are gone. */
  instancesGone (instances: string[]): void
}

export interface Live {
  /** This instance, as the registry names it. */
  readonly instanceId: string
  /** Start telling `sink` what the other instances report. */
  start (sink: LiveSink): Promise<void>
  /** This instance's users in `doc` changed: recorded in the registry and told to the others. */
  presence (doc: string, users: PresentUser[], gone: string[]): void
  /** A document changed here: kept as its last activity and told to the others. */
  activity (doc: string, activity: Activity): void
  /** The registry's view of `doc`, across instances. */
  read (doc: string): Promise<PresenceReading>
  close (): Promise<void>
}

/** Documents whose last activity the in-memory registry keeps (the oldest is forgotten first). */
export const MAX_KEPT_ACTIVITY = 10_000

/** This instance's users per document, as the Live implementations keep them. */
export class LocalPresence {
  readonly docs = new Map<string, Map<string, PresentUser>>()

  /** Apply a change; returns the document's users now. */
  apply (doc: string, users: PresentUser[], gone: string[]): Map<string, PresentUser> {
    const current = this.docs.get(doc) ?? new Map<string, PresentUser>()
    for (const id of gone) current.delete(id)
    for (const user of users) current.set(user.id, user)
    if (current.size === 0) this.docs.delete(doc)
    else this.docs.set(doc, current)
    return current
  }

  users (doc: string): PresentUser[] {
    return [...this.docs.get(doc)?.values() ?? []]
  }
}

/** Last activity per document, bounded (a Map keeps insertion order: re-inserting moves a document to the end). */
export class ActivityLog {
  private readonly last = new Map<string, Activity>()
  constructor (private readonly max = MAX_KEPT_ACTIVITY) {}

  note (doc: string, activity: Activity): void {
    this.last.delete(doc)
    this.last.set(doc, activity)
    if (this.last.size > this.max) this.last.delete(this.last.keys().next().value!)
  }

  get (doc: string): Activity | null { return this.last.get(doc) ?? null }
  entries (): IterableIterator<[string, Activity]> { return this.last.entries() }
}

/** The embedded backend's registry: this one instance, in memory. */
export class LocalLive implements Live {
  readonly instanceId = 'local'
  private readonly local = new LocalPresence()
  private readonly activities = new ActivityLog()

  async start (): Promise<void> {}

  presence (doc: string, users: PresentUser[], gone: string[]): void {
    this.local.apply(doc, users, gone)
  }

  activity (doc: string, activity: Activity): void {
    this.activities.note(doc, activity)
  }

  async read (doc: string): Promise<PresenceReading> {
    const users = this.local.users(doc)
    return { users: new Map(users.length > 0 ? [[this.instanceId, users]] : []), activity: this.activities.get(doc) }
  }

  async close (): Promise<void> {}
}
