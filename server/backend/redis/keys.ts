/**
 * Redis key and channel names. Every key of one document carries the same
 * hash tag, so in a Redis Cluster they live in one slot and a Lua script can
 * touch them together; the document's shard channel carries the same tag, so
 * its pub/sub traffic stays on that shard.
 *
 * The tag is the hex of the name's UTF-8 bytes, not the name itself: a name
 * may hold `{` or `}`, which would change what Redis hashes.
 */
export const KEY_PREFIX = 'quire'

export interface DocKeys {
  /** LIST of updates; its first element may be a snapshot. */
  log: string
  /** Integer: position of the last entry ever appended. */
  seq: string
  /** (Sharded) pub/sub channel for updates and awareness. */
  channel: string
  /** Integer: when the document was last written (Redis clock, ms). */
  time: string
}

/** A document's versions (docs/history.md), under the document's hash tag. */
export interface VersionKeys {
  /** ZSET of version ids, all at score 0: ordered by id, which is by time. */
  ids: string
  /** HASH id -> record (server/backend/versions.ts). */
  records: string
  /** HASH id -> snapshot. */
  states: string
  /** HASH user id -> editor, noted since the last version. */
  editors: string
  /** STRING, set with NX and an expiry: who takes the next automatic version. */
  claim: string
}

export function docTag (name: string): string {
  return Buffer.from(name, 'utf8').toString('hex')
}

export function docKeys (name: string): DocKeys {
  const base = `${KEY_PREFIX}:{${docTag(name)}}`
  return { log: `${base}:log`, seq: `${base}:seq`, channel: `${base}:ch`, time: `${base}:time` }
}

/** The name whose hash tag is `tag` (docTag's inverse). */
export function nameOfTag (tag: string): string {
  return Buffer.from(tag, 'hex').toString('utf8')
}

/**
 * Sorted set of every document that exists, all scores 0, so that it sorts
 * by name (byte order) and pages with ZRANGE BYLEX. Kept beside the
 * documents' own keys (in a cluster it lives in its own slot): added to on a
 * document's first write, removed from on its deletion (server/backend/redis/redis-store.ts).
 */
export const DOCUMENTS_KEY = `${KEY_PREFIX}:documents`

export function versionKeys (name: string): VersionKeys {
  const base = `${KEY_PREFIX}:{${docTag(name)}}`
  return { ids: `${base}:versions`, records: `${base}:vrecords`, states: `${base}:vstates`, editors: `${base}:editors`, claim: `${base}:vclaim` }
}

/** Sorted set: instance id -> time (Redis clock, ms) its heartbeat expires. */
export const INSTANCES_KEY = `${KEY_PREFIX}:instances`
