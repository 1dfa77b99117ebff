/**
 * Awareness updates as an editor sends them (y-protocols format: count,
 * then per client id, clock, JSON state), built without an Awareness
 * instance: a user with a name and colour, and a caret as Tiptap's
 * CollaborationCaret sets it (relative positions).
 */
import { encodeAwarenessUpdate } from '../../common/awareness.js'

/** A random 32-bit client id, as Yjs picks one. */
export const newClientId = (): number => Math.floor(Math.random() * 0xffffffff)

export function encodeAwareness (clientId: number, clock: number, json: string): Uint8Array {
  return encodeAwarenessUpdate([{ clientId, clock, json }])
}

const COLORS = ['#30bced', '#6eeb83', '#ffbc42', '#ecd444', '#ee6352', '#9ac2c9', '#8acb88', '#1be7ff']

export function userJson (n: number, caret: { client: number, clock: number } | null): string {
  const user = { name: `User ${n}`, color: COLORS[n % COLORS.length] }
  if (caret === null) return JSON.stringify({ user })
  const pos = { type: { client: caret.client, clock: 0 }, tname: null, item: { client: caret.client, clock: caret.clock }, assoc: 0 }
  return JSON.stringify({ user, cursor: { anchor: pos, head: pos } })
}
