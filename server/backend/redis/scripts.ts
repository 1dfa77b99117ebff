/**
 * The Lua scripts that keep a document's log consistent. Each runs
 * atomically on the shard that owns the document's keys; key names always
 * arrive in KEYS (never built inside a script), so Redis Cluster routes and
 * checks them. The shard channel shares the keys' hash tag.
 *
 * A document's log is a LIST plus a counter `seq` (the position of the last
 * entry ever appended). With `len` elements, the first element sits at
 * position `seq - len + 1`; when it is a snapshot, it stands for every entry
 * up to that position.
 */
import type { Redis, Cluster } from 'ioredis'

/**
 * Append to one or more documents, publish each document's new entries to
 * its channel in one message, and note the time. KEYS: per document its
 * log, seq and time (3 each). ARGV[1] publish command (publish | spublish),
 * ARGV[2] instance id, then per document its channel, the count n and its
 * n updates. Message: "u <instance> <last> <count>\n" then per update
 * "<bytes>:" and the bytes. `out` gets each document's position of its last
 * entry (equal to the count: the document's first write), or Redis's error
 * for that document when its keys are not what the store made (another
 * type): then nothing of it is written (its `seq` is put back as it was) and the
 * other documents of the call go in. Several documents in one call is the
 * standalone store's group commit (append-batch.ts): one document's damaged
 * keys must not fail the others. A cluster sends one document per call.
 */
const APPEND_BODY = `
local out = {}
local t = redis.call('TIME')
local now = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local a = 3
for d = 0, #KEYS / 3 - 1 do
  local log, seq = KEYS[3 * d + 1], KEYS[3 * d + 2]
  local channel = ARGV[a]
  local n = tonumber(ARGV[a + 1])
  local first = a + 2
  local stop = first + n - 1
  local last = redis.pcall('INCRBY', seq, n)
  local failed = type(last) == 'table' and last.err or nil
  local i = first
  while not failed and i <= stop do
    local j = math.min(i + 999, stop)
    local pushed = redis.pcall('RPUSH', log, unpack(ARGV, i, j))
    if type(pushed) == 'table' and pushed.err then
      failed = pushed.err
      if last == n then redis.call('DEL', seq) else redis.call('DECRBY', seq, n) end
    end
    i = j + 1
  end
  if failed then
    out[#out + 1] = failed
  else
    local body = { 'u ', ARGV[2], ' ', string.format('%d', last), ' ', tostring(n), '\\n' }
    for k = first, stop do
      body[#body + 1] = tostring(#ARGV[k]) .. ':'
      body[#body + 1] = ARGV[k]
    end
    redis.call(ARGV[1], channel, table.concat(body))
    redis.call('SET', KEYS[3 * d + 3], now)
    out[#out + 1] = last
  end
  a = stop + 1
end
`
/** Returns each document's position of its last entry (or its error), in KEYS order. */
const APPEND = APPEND_BODY + 'return out\n'

/** APPEND to one document, but only if it does not exist (no `seq`): returns 0 and writes nothing when it does, else its last position. */
const CREATE = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
` + APPEND_BODY + 'return out[1]\n'

/**
 * Remove a document (KEYS log, seq, time) and tell the instances that have
 * it loaded ("d <instance>\n" on ARGV[2] with ARGV[1]; ARGV[3] instance id).
 * Returns 1 when it existed, else 0 (and publishes nothing).
 */
const DELETE = `
if redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) == 0 then return 0 end
redis.call(ARGV[1], ARGV[2], 'd ' .. ARGV[3] .. '\\n')
return 1
`

/** Bytes stored and last write time of a document (KEYS log, seq, time): {} when it does not exist. */
const INFO = `
if redis.call('EXISTS', KEYS[2]) == 0 then return {} end
local bytes = 0
local len = redis.call('LLEN', KEYS[1])
local i = 0
while i < len do
  local chunk = redis.call('LRANGE', KEYS[1], i, i + 99)
  for _, v in ipairs(chunk) do bytes = bytes + #v end
  i = i + 100
end
return { bytes, redis.call('GET', KEYS[3]) or '' }
`

/**
 * Read the log from position ARGV[1] on. Returns { seq, entries... }, or {}
 * for a document that was never written. Asked for a position already folded
 * into the snapshot, it starts at the snapshot (which covers it).
 */
const READ = `
local s = redis.call('GET', KEYS[2])
if not s then return {} end
local len = redis.call('LLEN', KEYS[1])
local first = tonumber(s) - len + 1
local start = tonumber(ARGV[1]) - first
if start < 0 then start = 0 end
local out = redis.call('LRANGE', KEYS[1], start, -1)
table.insert(out, 1, s)
return out
`

/**
 * Replace every entry up to position ARGV[1] with the snapshot ARGV[2].
 * Returns how many entries it replaced: 0 when the log already starts at or
 * after that position (another instance compacted as far or further).
 */
const COMPACT = `
local s = redis.call('GET', KEYS[2])
if not s then return 0 end
local seq = tonumber(s)
local through = tonumber(ARGV[1])
if through > seq then return redis.error_reply('ERR compaction beyond the end of the log') end
local len = redis.call('LLEN', KEYS[1])
local first = seq - len + 1
if through <= first then return 0 end
local drop = through - first + 1
redis.call('LTRIM', KEYS[1], drop, -1)
redis.call('LPUSH', KEYS[1], ARGV[2])
return drop
`

/**
 * Versions (docs/history.md). KEYS: ids (ZSET), records (HASH), states
 * (HASH), editors (HASH). Store version ARGV[1] with the record head
 * ARGV[2] and the snapshot ARGV[3], taking the editors noted since the last
 * version into its record (one line each) and forgetting them. Returns the
 * whole record.
 */
const PUT_VERSION = `
local lines = redis.call('HVALS', KEYS[4])
redis.call('DEL', KEYS[4])
table.insert(lines, 1, ARGV[2])
local record = table.concat(lines, '\\n')
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], record)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return record
`

/**
 * KEYS: ids, records. The records of at most ARGV[2] versions, newest
 * first, below ARGV[1] (a ZREVRANGEBYLEX bound: "+" or "(<id>").
 */
const LIST_VERSIONS = `
local ids = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[1], '-', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #ids, 1000 do
  local part = redis.call('HMGET', KEYS[2], unpack(ids, i, math.min(i + 999, #ids)))
  for _, record in ipairs(part) do
    if record then out[#out + 1] = record end
  end
end
return out
`

/** KEYS: records, states. { record, snapshot } of version ARGV[1], or {} when there is none. */
const GET_VERSION = `
local record = redis.call('HGET', KEYS[1], ARGV[1])
local state = redis.call('HGET', KEYS[2], ARGV[1])
if not record or not state then return {} end
return { record, state }
`

/** KEYS: ids, records, states. Forget versions ARGV[1..]. */
const DELETE_VERSIONS = `
for i = 1, #ARGV, 1000 do
  local j = math.min(i + 999, #ARGV)
  redis.call('ZREM', KEYS[1], unpack(ARGV, i, j))
  redis.call('HDEL', KEYS[2], unpack(ARGV, i, j))
  redis.call('HDEL', KEYS[3], unpack(ARGV, i, j))
end
return #ARGV
`

/** Delete KEYS[1] if it still holds ARGV[1] (a claim given up by its holder, not by whoever took it after it expired). */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/**
 * Renew instance ARGV[1] for ARGV[2] ms (Redis's clock, so instances'
 * clocks need not agree), forget entries expired more than ARGV[3] ms ago,
 * and return the instances whose heartbeat has expired.
 */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
`

export type RedisClient = Redis | Cluster

/** The scripts as commands on a client (ioredis sends EVALSHA, falling back to EVAL). */
export interface QuireCommands {
  /** Any number of documents: keys (log, seq, time) per document, then the publish command, the instance id, and per document channel, count, updates. */
  quireAppend (numberOfKeys: number, ...keysAndArgs: Array<string | Buffer>): Promise<Array<number | string>>
  quireCreate (log: string, seq: string, time: string, publish: string, instance: string, channel: string, count: '1', update: Buffer): Promise<number | string>
  quireDelete (log: string, seq: string, time: string, publish: string, channel: string, instance: string): Promise<number>
  quireInfo (log: string, seq: string, time: string): Promise<[number, string] | []>
  quireReadBuffer (log: string, seq: string, from: string): Promise<Buffer[]>
  quireCompact (log: string, seq: string, through: string, snapshot: Buffer): Promise<number>
  quireHeartbeat (instances: string, id: string, ttlMs: string, forgetMs: string): Promise<string[]>
  quirePutVersion (ids: string, records: string, states: string, editors: string, id: string, head: string, state: Buffer): Promise<string>
  quireListVersions (ids: string, records: string, max: string, limit: string): Promise<string[]>
  quireGetVersionBuffer (records: string, states: string, id: string): Promise<Buffer[]>
  quireDeleteVersions (ids: string, records: string, states: string, ...versions: string[]): Promise<number>
  quireRelease (key: string, holder: string): Promise<number>
}

export type ScriptedClient = RedisClient & QuireCommands

export function defineScripts (client: RedisClient): ScriptedClient {
  client.defineCommand('quireAppend', { lua: APPEND })
  client.defineCommand('quireCreate', { numberOfKeys: 3, lua: CREATE })
  client.defineCommand('quireDelete', { numberOfKeys: 3, lua: DELETE })
  client.defineCommand('quireInfo', { numberOfKeys: 3, lua: INFO })
  client.defineCommand('quireRead', { numberOfKeys: 2, lua: READ })
  client.defineCommand('quireCompact', { numberOfKeys: 2, lua: COMPACT })
  client.defineCommand('quireHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT })
  client.defineCommand('quirePutVersion', { numberOfKeys: 4, lua: PUT_VERSION })
  client.defineCommand('quireListVersions', { numberOfKeys: 2, lua: LIST_VERSIONS })
  client.defineCommand('quireGetVersion', { numberOfKeys: 2, lua: GET_VERSION })
  client.defineCommand('quireDeleteVersions', { numberOfKeys: 3, lua: DELETE_VERSIONS })
  client.defineCommand('quireRelease', { numberOfKeys: 1, lua: RELEASE })
  return client as ScriptedClient
}
