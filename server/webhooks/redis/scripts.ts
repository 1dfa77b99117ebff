/**
 * The webhooks' Redis keys and scripts. Every key carries the hash tag
 * `{webhooks}`, so in a Redis Cluster they share one slot and a script can
 * touch them together; key names always arrive in KEYS.
 *
 *   queue        STREAM of deliveries (field `d`: the delivery's JSON), read
 *                by the consumer group GROUP, one consumer per instance; an
 *                entry is deleted once delivered or given up, so XLEN is
 *                what waits
 *   endpoints    HASH id -> endpoint JSON (added through the admin API)
 *   alive        ZSET instance -> when its liveness expires (Redis clock, ms)
 *   present      HASH [doc, user id] -> on how many instances that user is present
 *   present:<i>  HASH [doc, user id] -> {doc, user}: who is present through instance i
 */
import type { RedisClient } from '../../backend/redis/scripts.js'

const PREFIX = 'quire:{webhooks}'
export const KEYS = {
  queue: `${PREFIX}:queue`,
  endpoints: `${PREFIX}:endpoints`,
  alive: `${PREFIX}:alive`,
  present: `${PREFIX}:present`,
  presentOf: (instance: string): string => `${PREFIX}:present:${instance}`,
}
export const GROUP = 'quire-webhooks'

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

/** Add ARGV[2..] to the queue while it holds fewer than ARGV[1]; returns how many were added. */
const ENQUEUE = `
local room = tonumber(ARGV[1]) - redis.call('XLEN', KEYS[1])
local n = 0
for i = 2, #ARGV do
  if n >= room then break end
  redis.call('XADD', KEYS[1], '*', 'd', ARGV[i])
  n = n + 1
end
return n
`

/** Acknowledge and delete entries ARGV[2..] of group ARGV[1]. */
const DONE = `
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
return redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
`

/** Renew instance ARGV[1] for ARGV[2] ms; 1 when it was not listed (new, or taken over). */
const BEAT = NOW + `
return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
`

/** Give instance ARGV[1] up at once (a graceful stop): the others take over on their next beat. */
const RETIRE = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then redis.call('ZADD', KEYS[1], 0, ARGV[1]) end
return 1
`

/** Instances whose liveness has expired, ARGV[1] (the caller) left out. */
const EXPIRED = NOW + `
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  if id ~= ARGV[1] then out[#out + 1] = id end
end
return out
`

/**
 * Take over expired instance ARGV[3] for ARGV[2] (group ARGV[1]): once only
 * (whoever removes it from \`alive\`). Its users leave (returned: those now
 * present nowhere), and its pending deliveries become ARGV[2]'s (returned:
 * id, delivery, id, delivery...; entries deleted meanwhile just leave its
 * list). Returns {} when it renewed meanwhile or was taken over already.
 */
const TAKEOVER = NOW + `
local score = redis.call('ZSCORE', KEYS[1], ARGV[3])
if not score or tonumber(score) > now then return {} end
redis.call('ZREM', KEYS[1], ARGV[3])
local left = {}
local held = redis.call('HGETALL', KEYS[4])
for i = 1, #held, 2 do
  if redis.call('HINCRBY', KEYS[3], held[i], -1) <= 0 then
    redis.call('HDEL', KEYS[3], held[i])
    left[#left + 1] = held[i + 1]
  end
end
redis.call('DEL', KEYS[4])
local claimed = {}
if redis.call('EXISTS', KEYS[2]) == 1 then
  while true do
    local ok, pending = pcall(redis.call, 'XPENDING', KEYS[2], ARGV[1], '-', '+', 500, ARGV[3])
    if not ok or #pending == 0 then break end
    local ids = {}
    for _, p in ipairs(pending) do ids[#ids + 1] = p[1] end
    for _, entry in ipairs(redis.call('XCLAIM', KEYS[2], ARGV[1], ARGV[2], 0, unpack(ids))) do
      claimed[#claimed + 1] = entry[1]
      claimed[#claimed + 1] = entry[2][2]
    end
    -- Entries deleted meanwhile leave the list without being returned; anything else left stops the loop.
    local again = redis.call('XPENDING', KEYS[2], ARGV[1], '-', '+', 1, ARGV[3])
    if #again > 0 and again[1][1] == ids[1] then break end
  end
  pcall(redis.call, 'XGROUP', 'DELCONSUMER', KEYS[2], ARGV[1], ARGV[3])
end
return { left, claimed }
`

/** ARGV[1] (member) present through this instance (KEYS[2]) with value ARGV[2]; 1 when present nowhere before. */
const ARRIVE = `
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[1], ARGV[1], 1) == 1 then return 1 end
return 0
`

/** ARGV[1] no longer present through this instance; 1 when now present nowhere. */
const DEPART = `
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
`

/**
 * Make this instance's entries (KEYS[2]) exactly ARGV (member, value pairs).
 * Returns { values that arrived and were present nowhere before, values that
 * left and are now present nowhere }.
 */
const RESYNC = `
local want = {}
for i = 1, #ARGV, 2 do want[ARGV[i]] = ARGV[i + 1] end
local joined, left = {}, {}
local have = redis.call('HGETALL', KEYS[2])
for i = 1, #have, 2 do
  local m = have[i]
  if want[m] then
    want[m] = nil
  else
    redis.call('HDEL', KEYS[2], m)
    if redis.call('HINCRBY', KEYS[1], m, -1) <= 0 then
      redis.call('HDEL', KEYS[1], m)
      left[#left + 1] = have[i + 1]
    end
  end
end
for m, v in pairs(want) do
  redis.call('HSET', KEYS[2], m, v)
  if redis.call('HINCRBY', KEYS[1], m, 1) == 1 then joined[#joined + 1] = v end
end
return { joined, left }
`

export interface WebhookCommands {
  quireWebhookEnqueue (queue: string, max: string, ...deliveries: string[]): Promise<number>
  quireWebhookDone (queue: string, group: string, ...ids: string[]): Promise<number>
  quireWebhookBeat (alive: string, instance: string, ttlMs: string): Promise<number>
  quireWebhookRetire (alive: string, instance: string): Promise<number>
  quireWebhookExpired (alive: string, instance: string): Promise<string[]>
  quireWebhookTakeover (alive: string, queue: string, present: string, presentOfDead: string, group: string, me: string, dead: string): Promise<[string[], string[]] | []>
  quireWebhookArrive (present: string, presentOfMe: string, member: string, value: string): Promise<number>
  quireWebhookDepart (present: string, presentOfMe: string, member: string): Promise<number>
  quireWebhookResync (present: string, presentOfMe: string, ...pairs: string[]): Promise<[string[], string[]]>
}

export type WebhookClient = RedisClient & WebhookCommands

export function defineWebhookScripts (client: RedisClient): WebhookClient {
  client.defineCommand('quireWebhookEnqueue', { numberOfKeys: 1, lua: ENQUEUE })
  client.defineCommand('quireWebhookDone', { numberOfKeys: 1, lua: DONE })
  client.defineCommand('quireWebhookBeat', { numberOfKeys: 1, lua: BEAT })
  client.defineCommand('quireWebhookRetire', { numberOfKeys: 1, lua: RETIRE })
  client.defineCommand('quireWebhookExpired', { numberOfKeys: 1, lua: EXPIRED })
  client.defineCommand('quireWebhookTakeover', { numberOfKeys: 4, lua: TAKEOVER })
  client.defineCommand('quireWebhookArrive', { numberOfKeys: 2, lua: ARRIVE })
  client.defineCommand('quireWebhookDepart', { numberOfKeys: 2, lua: DEPART })
  client.defineCommand('quireWebhookResync', { numberOfKeys: 2, lua: RESYNC })
  return client as WebhookClient
}
