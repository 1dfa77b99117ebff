/**
 * user.joined and user.left (docs/webhooks.md, "Events"): who is present in
 * each document through this instance (from its connections' awareness
 * states), and a ledger shared by the instances that says whether someone
 * arriving here was present nowhere before, or leaving here is now present
 * nowhere. So a person with tabs on two instances joins once and leaves
 * once, and each is reported by one instance.
 */
import type { Logger } from '../ops/log.js'
import type { WebhookUser } from './events.js'

export interface PresenceLedger {
  /** `user` is now present in `doc` through this instance; true when present nowhere before. */
  arrive (doc: string, user: WebhookUser): Promise<boolean>
  /** `user` is no longer present in `doc` through this instance; true when now present nowhere. */
  depart (doc: string, user: WebhookUser): Promise<boolean>
}

/** One instance: this instance's presence is everyone's. */
export class LocalLedger implements PresenceLedger {
  private readonly present = new Set<string>()
  async arrive (doc: string, user: WebhookUser): Promise<boolean> {
    const key = `${doc}\u0000${user.id}`
    if (this.present.has(key)) return false
    this.present.add(key)
    return true
  }

  async depart (doc: string, user: WebhookUser): Promise<boolean> {
    return this.present.delete(`${doc}\u0000${user.id}`)
  }
}

export interface PresenceWatchDeps {
  ledger: PresenceLedger
  log: Logger
  joined (doc: string, user: WebhookUser): void
  left (doc: string, user: WebhookUser): void
}

export class PresenceWatch {
  /** doc -> user id -> user, for the users present through this instance. */
  private readonly local = new Map<string, Map<string, WebhookUser>>()
  /** Ledger calls not answered yet. */
  private readonly pending = new Set<Promise<void>>()

  constructor (private readonly deps: PresenceWatchDeps) {}

  /** The users present in `doc` through this instance now. */
  update (doc: string, users: WebhookUser[]): void {
    const before = this.local.get(doc) ?? new Map<string, WebhookUser>()
    const now = new Map(users.map((u) => [u.id, u]))
    if (now.size > 0) this.local.set(doc, now)
    else this.local.delete(doc)
    for (const [id, user] of now) if (!before.has(id)) this.track(this.verdict('joined', doc, user, this.deps.ledger.arrive(doc, user)))
    for (const [id, user] of before) if (!now.has(id)) this.track(this.verdict('left', doc, user, this.deps.ledger.depart(doc, user)))
  }

  /** Resolves once every ledger call made so far is answered (and its event emitted). */
  async settle (): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending])
  }

  /** Everyone present through this instance, by document. */
  snapshot (): Array<{ doc: string, user: WebhookUser }> {
    const out: Array<{ doc: string, user: WebhookUser }> = []
    for (const [doc, users] of this.local) for (const user of users.values()) out.push({ doc, user })
    return out
  }

  private track (call: Promise<void>): void {
    this.pending.add(call)
    void call.finally(() => this.pending.delete(call))
  }

  private async verdict (what: 'joined' | 'left', doc: string, user: WebhookUser, verdict: Promise<boolean>): Promise<void> {
    let first: boolean
    try {
      first = await verdict
    } catch (err) {
      this.deps.log.warn({ err, doc }, `webhooks: presence ledger unreachable; user.${what} may be missed`)
      return
    }
    if (first) this.deps[what](doc, user)
  }
}
