/**
 * The offline copy of a document in IndexedDB (y-indexeddb), one database
 * per person, server and document (local-keys.ts), and the list of one
 * person's databases so signing out can delete them all.
 *
 * The list is kept twice: in localStorage (`quire:copies:<scope>`), and in
 * the database names themselves (`quire:<scope>:…`, found with
 * `indexedDB.databases()` where the browser has it); deleting reads both.
 */
import type * as Y from 'yjs'
import { IndexeddbPersistence } from 'y-indexeddb'
import { databasePrefix } from './local-keys.js'

/** IndexedDB rarely takes long; never let it hold up the connection for more than this. */
const LOCAL_LOAD_WAIT_MS = 1500

const INDEX_KEY_PREFIX = 'quire:copies:'

/**
 * One document's copy. `loaded` resolves once it is in the Y.Doc (or after
 * a moment, or at once where IndexedDB is unusable: some private modes,
 * storage blocked in third-party frames; probed first, because y-indexeddb
 * leaves a failed open as an unhandled rejection).
 */
export class LocalCopy {
  readonly loaded: Promise<void>
  private persistence: IndexeddbPersistence | null = null
  private closing: Promise<void> | null = null

  constructor (readonly database: string, readonly scope: string, ydoc: Y.Doc) {
    this.loaded = this.open(ydoc)
  }

  /** Stop reading and writing it, at once (what is in it stays). */
  close (): Promise<void> {
    this.closing ??= this.persistence?.destroy().catch(() => {}) ?? Promise.resolve()
    return this.closing
  }

  /** Close it and delete its database. */
  async delete (): Promise<void> {
    await this.close()
    await deleteDatabase(this.database)
    forget(this.scope, [this.database])
  }

  private async open (ydoc: Y.Doc): Promise<void> {
    if (!await indexedDbUsable() || this.closing !== null) return
    remember(this.scope, this.database)
    const persistence = new IndexeddbPersistence(this.database, ydoc)
    this.persistence = persistence
    persistence._db.then((db) => {
      // Another tab deletes this database (sign-out, lost access): stop writing to it, then let it go.
      db.onversionchange = () => {
        void persistence.destroy()
        db.close()
      }
    }, () => {})
    await Promise.race([persistence.whenSynced, delay(LOCAL_LOAD_WAIT_MS)])
  }
}

/**
 * Delete every database of one person on one server. Copies still open in
 * other tabs close when asked (LocalCopy does so on `versionchange`).
 */
export async function deleteScope (scope: string): Promise<string[]> {
  const names = new Set(listed(scope))
  const prefix = databasePrefix(scope)
  if (typeof indexedDB !== 'undefined' && typeof indexedDB.databases === 'function') {
    try {
      for (const db of await indexedDB.databases()) if (db.name?.startsWith(prefix)) names.add(db.name)
    } catch { /* the list in localStorage is all we have */ }
  }
  await Promise.all([...names].map(deleteDatabase))
  forget(scope, [...names])
  return [...names]
}

/**
 * Resolves once the deletion is done, or once it waits for connections that
 * have not closed yet ("blocked"): IndexedDB runs it before any later open
 * of that name, so nobody reads the old data afterwards.
 */
function deleteDatabase (name: string): Promise<void> {
  return new Promise((resolve) => {
    if (typeof indexedDB === 'undefined') return resolve()
    try {
      const req = indexedDB.deleteDatabase(name)
      req.onsuccess = () => resolve()
      req.onblocked = () => resolve()
      req.onerror = (event) => {
        event.preventDefault()
        console.warn('quire: could not delete a local copy', req.error)
        resolve()
      }
    } catch {
      resolve()
    }
  })
}

function indexKey (scope: string): string {
  return `${INDEX_KEY_PREFIX}${scope}`
}

function listed (scope: string): string[] {
  try {
    const list = JSON.parse(localStorage.getItem(indexKey(scope)) ?? '[]') as unknown
    return Array.isArray(list) ? list.filter((name): name is string => typeof name === 'string') : []
  } catch {
    return []
  }
}

function remember (scope: string, database: string): void {
  const list = listed(scope)
  if (list.includes(database)) return
  try {
    localStorage.setItem(indexKey(scope), JSON.stringify([...list, database]))
  } catch { /* indexedDB.databases() still finds it by its prefix */ }
}

function forget (scope: string, databases: string[]): void {
  const rest = listed(scope).filter((name) => !databases.includes(name))
  try {
    if (rest.length === 0) localStorage.removeItem(indexKey(scope))
    else localStorage.setItem(indexKey(scope), JSON.stringify(rest))
  } catch { /* nothing to update */ }
}

function indexedDbUsable (): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      const req = indexedDB.open('quire-probe')
      req.onsuccess = () => {
        req.result.close()
        resolve(true)
      }
      req.onerror = (event) => {
        event.preventDefault()
        console.warn('quire: no offline copy (IndexedDB unavailable)', req.error)
        resolve(false)
      }
    } catch {
      resolve(false)
    }
  })
}

function delay (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
