/**
 * Who is editing: the `user` field each client puts in its awareness state
 * (carets, presence and the typing indicator all read it). With a token, the
 * id and name are the token's (the server shows others nothing else).
 */
import type { TokenUser } from '@quire/provider'

export interface EditorUser {
  /** Stable per person (the token's `sub`, or a random id kept by the browser); tabs of one person share it. */
  id: string
  name: string
  /** `#rrggbb`: the caret code only understands six-digit hex colours. */
  color: string
}

/** Colours that read well as caret, label background (white text) and avatar. */
export const USER_COLORS = [
  '#d9480f', '#c2255c', '#9c36b5', '#6741d9', '#3b5bdb', '#1971c2',
  '#0c8599', '#099268', '#2b8a3e', '#5c940d', '#e67700', '#862e9c',
]

const HEX_COLOR = /^#[0-9a-f]{6}$/i

export function randomId (): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9))
  return Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('').slice(0, 12)
}

/** A colour picked by the id, so one person keeps one colour without storing it. */
export function colorFor (id: string): string {
  let h = 0
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0
  return USER_COLORS[h % USER_COLORS.length]
}

/** Fill in what is missing and reject what the caret code cannot draw. */
export function normalizeUser (user: Partial<EditorUser> | undefined): EditorUser {
  const id = user?.id?.trim() || randomId()
  const name = user?.name?.trim().slice(0, 64) || 'Anonymous'
  const color = user?.color && HEX_COLOR.test(user.color) ? user.color : colorFor(id)
  return { id, name, color }
}

/**
 * The parts of the user a token fixes: its `sub` as the id and its `name`
 * (else the `sub`) as the name, as the server shows them to others. Empty
 * without a token.
 */
export function userFromToken (user: TokenUser | null): Partial<EditorUser> {
  return user ? { id: user.id, name: user.name ?? user.id } : {}
}

/** "Ada Lovelace" → "AL", "alice" → "A". */
export function initials (name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean)
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words
  return letters.map((w) => Array.from(w)[0] ?? '').join('').toUpperCase() || '?'
}
