/**
 * Who follows a document from the server side (docs/architecture.md, "The
 * document"): changes once durable, with who made them; this instance's
 * presence changes; everyone present after each flush. A listener that
 * throws harms neither the document nor the other listeners.
 */
import type { AwarenessEntry } from '../../common/awareness.js'
import type { Logger } from '../ops/log.js'
import type { Peer } from './peer.js'

/** Where a change observed on the document was made: on this instance (a client or the server), or on another. */
export type ChangeOrigin = 'local' | 'remote'
/**
 * `authors`, for local changes: the peers whose updates the batch holds
 * (null for a server-side change); empty for remote ones (the other instance
 * knows who made them).
 */
export type ChangeListener = (updates: Uint8Array[], origin: ChangeOrigin, authors: ReadonlySet<Peer | null>) => void
/** The awareness states of this instance's clients that changed in a flush ("null": the client is gone). */
export type PresenceListener = (local: AwarenessEntry[]) => void
/**
 * A live awareness state (someone present): its JSON text (with auth on,
 * `user.id` and `user.name` are the token's) and whether a connection on
 * this instance holds it (`here`) or another instance does.
 */
export interface PresentState { clientId: number, json: string, here: boolean }
export type UsersListener = (present: PresentState[]) => void

export const NO_AUTHORS: ReadonlySet<Peer | null> = new Set()

export class DocumentObservers {
  private readonly changes = new Set<ChangeListener>()
  private readonly presence = new Set<PresenceListener>()
  private readonly users = new Set<UsersListener>()

  constructor (private readonly name: string, private readonly log: Logger) {}

  onChange (listener: ChangeListener): () => void { return add(this.changes, listener) }
  onPresence (listener: PresenceListener): () => void { return add(this.presence, listener) }
  onUsers (listener: UsersListener): () => void { return add(this.users, listener) }

  /** Whether anyone wants the users present (computing them costs a pass over presence). */
  get wantsUsers (): boolean { return this.users.size > 0 }

  changed (updates: Uint8Array[], origin: ChangeOrigin, authors: ReadonlySet<Peer | null>): void {
    if (updates.length > 0) this.tell(this.changes, (l) => l(updates, origin, authors), 'change')
  }

  presenceChanged (local: AwarenessEntry[]): void {
    this.tell(this.presence, (l) => l(local), 'presence')
  }

  present (states: PresentState[]): void {
    this.tell(this.users, (l) => l(states), 'users')
  }

  clear (): void {
    this.changes.clear()
    this.presence.clear()
    this.users.clear()
  }

  private tell<L> (listeners: ReadonlySet<L>, call: (listener: L) => void, what: string): void {
    for (const listener of listeners) {
      try {
        call(listener)
      } catch (err) {
        this.log.error({ err, doc: this.name }, `${what} listener failed`)
      }
    }
  }
}

function add<L> (set: Set<L>, listener: L): () => void {
  set.add(listener)
  return () => { set.delete(listener) }
}
