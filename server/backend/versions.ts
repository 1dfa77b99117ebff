/**
 * Version records as every store keeps them (docs/history.md): ids that
 * sort in time order, and one text record per version that the stores
 * write and read without looking inside.
 *
 * A record is one line of JSON (everything but the users), then one line of
 * JSON per user noted as an editor since the previous version. The Redis
 * store's script appends those lines inside Redis, where the editors are
 * taken atomically with the version, without parsing JSON in Lua.
 */
import { randomBytes } from 'node:crypto'
import type { NewVersion, VersionInfo, VersionUser } from './store.js'

/** `<ms since the epoch, 12 hex digits>-<8 random hex digits>`: later versions sort after earlier ones. */
const ID = /^[0-9a-f]{12}-[0-9a-f]{8}$/

export function newVersionId (at: number): string {
  return `${Math.max(0, Math.floor(at)).toString(16).padStart(12, '0')}-${randomBytes(4).toString('hex')}`
}

export function isVersionId (id: string): boolean {
  return ID.test(id)
}

/** The first line of a version's record: everything the caller decides, plus its id and size. */
export function recordHead (id: string, version: NewVersion, bytes: number): string {
  const head: Omit<VersionInfo, 'users'> = { id, at: version.at, reason: version.reason, bytes }
  if (version.label !== undefined) head.label = version.label
  if (version.by !== undefined) head.by = version.by
  return JSON.stringify(head)
}

/** An editor as the stores keep it until the next version takes it. */
export function editorValue (user: VersionUser): string {
  return JSON.stringify(user.name === undefined ? { id: user.id } : { id: user.id, name: user.name })
}

/** A whole record: the head, then each editor (each on its own line; JSON never holds a raw newline). */
export function joinRecord (head: string, editors: Iterable<string>): string {
  return [head, ...editors].join('\n')
}

export function parseRecord (record: string): VersionInfo {
  const [head, ...lines] = record.split('\n')
  const info = JSON.parse(head) as VersionInfo
  const users = new Map<string, VersionUser>()
  for (const line of lines) {
    const user = JSON.parse(line) as VersionUser
    users.set(user.id, user)
  }
  info.users = [...users.values()]
  return info
}
