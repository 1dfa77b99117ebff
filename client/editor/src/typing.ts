/**
 * The typing indicator. Each client sets `typing: true` in its awareness
 * state when its user changes the document, and false again after 3 s
 * without input or when the editor loses focus. However fast the user
 * types, the field changes at most once a second.
 */
import type { Awareness } from 'y-protocols/awareness'
import type { EditorUser } from './user.js'

export interface TypingOptions {
  idleMs: number
  minIntervalMs: number
}

export class TypingSignal {
  private wanted = false
  private lastChangeAt = -Infinity
  private idleTimer: ReturnType<typeof setTimeout> | null = null
  private flushTimer: ReturnType<typeof setTimeout> | null = null

  constructor (private readonly awareness: Awareness, private readonly opts: TypingOptions = { idleMs: 3000, minIntervalMs: 1000 }) {}

  /** The user changed the document. */
  input (): void {
    this.wanted = true
    if (this.idleTimer !== null) clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => this.stop(), this.opts.idleMs)
    this.flush()
  }

  /** Idle, blurred or leaving. */
  stop (): void {
    this.wanted = false
    if (this.idleTimer !== null) clearTimeout(this.idleTimer)
    this.idleTimer = null
    this.flush()
  }

  destroy (): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer)
    if (this.flushTimer !== null) clearTimeout(this.flushTimer)
    this.idleTimer = this.flushTimer = null
  }

  private flush (): void {
    const state = this.awareness.getLocalState()
    if (state === null || (state.typing === true) === this.wanted) return
    const wait = this.lastChangeAt + this.opts.minIntervalMs - Date.now()
    if (wait > 0) {
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = null
        this.flush()
      }, wait)
      return
    }
    this.lastChangeAt = Date.now()
    this.awareness.setLocalStateField('typing', this.wanted)
  }
}

/** "Alice is typing…", "Alice and Bob are typing…", "3 people are typing…", or "". */
export function typingText (names: string[]): string {
  if (names.length === 0) return ''
  if (names.length === 1) return `${names[0]} is typing…`
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`
  return `${names.length} people are typing…`
}

export interface PresentUser extends EditorUser {
  self: boolean
  typing: boolean
}

/**
 * Everyone in the document, one entry per person (a person's tabs share a
 * user id), ourselves first, then by name.
 */
export function presentUsers (awareness: Awareness, selfId: string): PresentUser[] {
  const byId = new Map<string, PresentUser>()
  awareness.getStates().forEach((state, clientId) => {
    const user = state.user as Partial<EditorUser> | undefined
    if (!user || typeof user.name !== 'string') return
    const id = typeof user.id === 'string' ? user.id : `client:${clientId}`
    const typing = state.typing === true
    const known = byId.get(id)
    if (known) {
      known.typing ||= typing
      return
    }
    byId.set(id, { id, name: user.name, color: typeof user.color === 'string' ? user.color : '#868e96', self: id === selfId, typing })
  })
  return [...byId.values()].sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name))
}
