/**
 * Every instance's users in every document, as this instance has heard them
 * (its own, the other instances' news, their full reports), and the events
 * that follow from a change: someone joins when they appear in a document
 * on any instance, leaves when no instance shows them any more, starts or
 * stops typing when the first or last of their tabs does.
 */
import type { PresentUser } from '../backend/live.js'

export type PresenceEvent =
  | { type: 'join', doc: string, user: PresentUser }
  | { type: 'leave', doc: string, user: PresentUser }
  | { type: 'typing', doc: string, user: PresentUser }

/** Users of one document: instance -> user id -> user. */
type DocUsers = Map<string, Map<string, PresentUser>>

export class PresenceMirror {
  private readonly docs = new Map<string, DocUsers>()
  /** Changes per document and instance, so a slow registry read does not undo a newer change. */
  private readonly changes = new Map<string, Map<string, number>>()

  /** Documents anyone is in. */
  names (): IterableIterator<string> { return this.docs.keys() }

  /** How many times each instance changed `doc` so far (see `merge`). */
  versions (doc: string): Map<string, number> { return new Map(this.changes.get(doc)) }

  /** A change of one instance's users in a document. With `whole`, `users` replaces all of them. */
  apply (instance: string, doc: string, users: PresentUser[], gone: string[], whole = false): PresenceEvent[] {
    return this.change(doc, (d) => {
      this.bump(doc, instance)
      let mine = d.get(instance)
      if (whole || mine === undefined) d.set(instance, mine = new Map())
      for (const id of gone) mine.delete(id)
      for (const user of users) mine.set(user.id, user)
      if (mine.size === 0) d.delete(instance)
    })
  }

  /** An instance's full report: exactly these documents and users. */
  replaceInstance (instance: string, report: Map<string, PresentUser[]>): PresenceEvent[] {
    const events: PresenceEvent[] = []
    for (const [doc, d] of this.docs) {
      if (d.has(instance) && !report.has(doc)) events.push(...this.apply(instance, doc, [], [], true))
    }
    for (const [doc, users] of report) events.push(...this.apply(instance, doc, users, [], true))
    return events
  }

  /** Instances that died: their users leave. */
  dropInstances (instances: string[]): PresenceEvent[] {
    const events: PresenceEvent[] = []
    for (const [doc, d] of [...this.docs]) {
      if (!instances.some((i) => d.has(i))) continue
      events.push(...this.change(doc, (users) => { for (const i of instances) users.delete(i) }))
    }
    return events
  }

  /**
   * What the registry holds for `doc`, read when a stream asked for it:
   * users the mirror has not heard of are added, for each instance that did
   * not change the document since `versions` (taken before the read).
   */
  merge (doc: string, read: Map<string, PresentUser[]>, versions: Map<string, number>): PresenceEvent[] {
    return this.change(doc, (d) => {
      for (const [instance, users] of read) {
        if ((this.changes.get(doc)?.get(instance) ?? 0) !== (versions.get(instance) ?? 0)) continue
        let mine = d.get(instance)
        if (mine === undefined) d.set(instance, mine = new Map())
        for (const user of users) if (!mine.has(user.id)) mine.set(user.id, user)
      }
    })
  }

  /** Everyone in `doc`, one entry per user, earliest arrival first. */
  users (doc: string): PresentUser[] {
    const d = this.docs.get(doc)
    return d === undefined ? [] : byArrival(union(d).values())
  }

  private change (doc: string, mutate: (d: DocUsers) => void): PresenceEvent[] {
    const d = this.docs.get(doc) ?? new Map<string, Map<string, PresentUser>>()
    const before = union(d)
    mutate(d)
    if (d.size === 0) this.docs.delete(doc)
    else this.docs.set(doc, d)
    const after = union(d)
    const events: PresenceEvent[] = []
    for (const [id, user] of before) if (!after.has(id)) events.push({ type: 'leave', doc, user })
    for (const [id, user] of after) {
      const was = before.get(id)
      if (was === undefined) events.push({ type: 'join', doc, user })
      else if (was.typing !== user.typing) events.push({ type: 'typing', doc, user })
    }
    return events
  }

  private bump (doc: string, instance: string): void {
    let counts = this.changes.get(doc)
    if (counts === undefined) this.changes.set(doc, counts = new Map())
    counts.set(instance, (counts.get(instance) ?? 0) + 1)
    if (this.changes.size > 2 * this.docs.size + 1024) this.pruneVersions()
  }

  /**
   * Forget the counts of documents nobody is in any more. One forgotten
   * during a registry read makes that read's merge skip it: the safe side.
   */
  private pruneVersions (): void {
    for (const doc of this.changes.keys()) if (!this.docs.has(doc)) this.changes.delete(doc)
  }
}

/** One entry per user across instances: the earliest arrival, typing when any instance says so. */
export function unionOf (perInstance: Iterable<Iterable<PresentUser>>): Map<string, PresentUser> {
  const all = new Map<string, PresentUser>()
  for (const users of perInstance) {
    for (const user of users) {
      const seen = all.get(user.id)
      if (seen === undefined) all.set(user.id, user)
      else all.set(user.id, { ...(seen.since <= user.since ? seen : user), typing: seen.typing || user.typing, since: Math.min(seen.since, user.since) })
    }
  }
  return all
}

/** Earliest arrival first. */
export function byArrival (users: Iterable<PresentUser>): PresentUser[] {
  return [...users].sort((a, b) => a.since - b.since || a.id.localeCompare(b.id))
}

const union = (d: DocUsers): Map<string, PresentUser> => unionOf([...d.values()].map((users) => users.values()))
