/**
 * Who the person at this browser is, for the web app (docs/editor.md): the
 * name comes from `?name=` (or the token's `name` claim), else from
 * localStorage, else a generated one; whatever it is, it is kept in
 * localStorage for next time.
 */
import { tokenClaims } from '../provider/token.js'
import { colorFor, normalizeUser, randomId, type EditorUser } from '../editor/user.js'
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
  const claims = token ? tokenClaims(token) : {}
  const id = (typeof claims.sub === 'string' && claims.sub) || saved.id || randomId()
  const name = params.get('name')?.trim() || (typeof claims.name === 'string' && claims.name) || saved.name || generatedName()
  const user = normalizeUser({ id, name, color: saved.id === id ? saved.color : colorFor(id) })
  saveUser(user)
  return user
}
