/**
 * Who is in one loaded document through this instance's connections, read
 * from their awareness states as the document flushes them
 * (SharedDocument.onPresence): each state's `user` (with auth on, the
 * server has already written the token's `sub` and `name` there) and its
 * `typing` field (client/editor/src/typing.ts). A person's tabs share a
 * user id and count once; they are typing when any of their tabs is.
 */
import type { AwarenessEntry } from '../../common/awareness.js'
import type { PresentUser } from '../backend/live.js'
import type { Peer } from '../document/peer.js'

/** What a stream shows of a user: bounded, whatever a client wrote. */
const MAX_ID_CHARS = 128
const MAX_NAME_CHARS = 128
const MAX_COLOR_CHARS = 32

interface ClientUser { id: string, name: string, color?: string, typing: boolean }

export interface UsersChange {
  /** Users who arrived or whose name, colour or typing changed. */
  users: PresentUser[]
  /** Ids of users who left. */
  gone: string[]
}

/** The user a state names, or null for a state without one (a stock client that sets no `user`). */
export function userOfState (json: string, clientId: number): ClientUser | null {
  let state: unknown
  try {
    state = JSON.parse(json)
  } catch {
    return null
  }
  if (state === null || typeof state !== 'object') return null
  const { user, typing } = state as { user?: unknown, typing?: unknown }
  if (user === null || typeof user !== 'object') return null
  const { id, name, color } = user as { id?: unknown, name?: unknown, color?: unknown }
  const hasId = typeof id === 'string' && id !== ''
  const hasName = typeof name === 'string' && name.trim() !== ''
  if (!hasId && !hasName) return null
  const userId = hasId ? id.slice(0, MAX_ID_CHARS) : `client:${clientId}`
  return {
    id: userId,
    name: hasName ? name.trim().slice(0, MAX_NAME_CHARS) : userId,
    ...(typeof color === 'string' && color !== '' ? { color: color.slice(0, MAX_COLOR_CHARS) } : {}),
    typing: typing === true,
  }
}

export class LocalUsers {
  /** Awareness client id -> the user its state names. */
  private readonly clients = new Map<number, ClientUser>()
  /** User id -> the client ids showing them. */
  private readonly byUser = new Map<string, Set<number>>()
  private readonly users = new Map<string, PresentUser>()

  /** Apply a flush's states; returns what changed for the users, or null. */
  apply (entries: AwarenessEntry[], now = Date.now()): UsersChange | null {
    const touched = new Set<string>()
    for (const { clientId, json } of entries) {
      const before = this.clients.get(clientId)
      const after = json === 'null' ? null : userOfState(json, clientId)
      if (before !== undefined) {
        touched.add(before.id)
        this.byUser.get(before.id)?.delete(clientId)
        this.clients.delete(clientId)
      }
      if (after !== null) {
        touched.add(after.id)
        this.clients.set(clientId, after)
        let ids = this.byUser.get(after.id)
        if (ids === undefined) this.byUser.set(after.id, ids = new Set())
        ids.add(clientId)
      }
    }
    const change: UsersChange = { users: [], gone: [] }
    for (const id of touched) {
      const ids = this.byUser.get(id)
      const current = this.users.get(id)
      if (ids === undefined || ids.size === 0) {
        this.byUser.delete(id)
        if (current !== undefined) {
          this.users.delete(id)
          change.gone.push(id)
        }
        continue
      }
      const shown = [...ids].map((c) => this.clients.get(c)!)
      const first = shown[0]
      const next: PresentUser = {
        id,
        name: first.name,
        ...(first.color !== undefined ? { color: first.color } : {}),
        typing: shown.some((u) => u.typing),
        since: current?.since ?? now,
      }
      if (current === undefined || current.name !== next.name || current.color !== next.color || current.typing !== next.typing) {
        this.users.set(id, next)
        change.users.push(next)
      }
    }
    return change.users.length > 0 || change.gone.length > 0 ? change : null
  }

  /** Everyone, for the document's unload (they all leave). */
  ids (): string[] {
    return [...this.users.keys()]
  }

  /**
   * Who is behind a peer, for "changed by": its token's user, else the user
   * its own awareness state names, else null (a stock client with no user).
   */
  authorOf (peer: Peer): { id: string, name: string } | null {
    if (peer.user !== null) return { id: peer.user.id, name: peer.user.name ?? peer.user.id }
    for (const clientId of peer.clientIds) {
      const user = this.clients.get(clientId)
      if (user !== undefined) return { id: user.id, name: user.name }
    }
    return null
  }
}
