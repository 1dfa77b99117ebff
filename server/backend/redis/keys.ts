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
}

export function docTag (name: string): string {
  return Buffer.from(name, 'utf8').toString('hex')
}

export function docKeys (name: string): DocKeys {
  const base = `${KEY_PREFIX}:{${docTag(name)}}`
  return { log: `${base}:log`, seq: `${base}:seq`, channel: `${base}:ch` }
}

/** Sorted set: instance id -> time (Redis clock, ms) its heartbeat expires. */
export const INSTANCES_KEY = `${KEY_PREFIX}:instances`
