/**
 * Who the person at this browser is, for the web app (docs/editor.md).
 * With a token, the token says it (`sub`, `name`) and nothing of it is kept:
 * the next page without that token must not present itself as that person.
 * Without one (open mode) the name comes from `?name=`, else from
 * localStorage, else a generated one, and is kept in localStorage.
 */
import { normalizeUser, tokenUser, userFromToken, type EditorUser } from '@quire/editor'
import { generatedName } from './names.js'

const KEY = 'quire:user'

function stored (): Partial<EditorUser> {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? 'null') as unknown
    return value !== null && typeof value === 'object' ? value as Partial<EditorUser> : {}
  } catch {
    return {}
  }
}

export function saveUser (user: EditorUser): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(user))
  } catch { /* storage may be unavailable; the name then lasts for this page */ }
}

export function currentUser (params: URLSearchParams = new URLSearchParams(location.search), token?: string | null): EditorUser {
  const saved = stored()
  const signedIn = tokenUser(token)
  // The colour follows from the id (normalizeUser), the same in every app that shows this person.
  if (signedIn) return normalizeUser(userFromToken(signedIn))
  const name = params.get('name')?.trim() || saved.name || generatedName()
  // Without a saved id normalizeUser makes one, and its colour with it.
  const user = normalizeUser({ id: saved.id, name, color: saved.id ? saved.color : undefined })
  saveUser(user)
  return user
}
