/**
 * The presence registry and the instances' news in Redis (../live.ts), so
 * that any instance can say who is in any document and every event stream
 * hears what happened on every instance.
 *
 * Registry: one hash per document, `quire:{<tag>}:presence` (the document's
 * hash tag: same slot as its log), field `<instance> <user id>`, value
 * `<expires at, Redis clock ms> <user JSON>`. An instance writes its own
 * fields and renews them every RENEW_MS; a reader drops expired fields and
 * ignores those of instances whose heartbeat expired (heartbeat.ts), so a
 * dead instance's users vanish within its heartbeat TTL (about 3 s), and
 * its fields from Redis within FIELD_TTL_MS. Last activity: a string
 * `quire:{<tag>}:activity` kept ACTIVITY_TTL_MS.
 *
 * News: JSON messages on one channel, `quire:{live}:events` (sharded
 * pub/sub on a cluster, like the documents' channels):
 *
 *   {"t":"p","i":instance,"d":doc,"u":[users],"g":[ids gone]}   presence changed
 *   {"t":"a","i":instance,"d":doc,"a":activity}                  a document changed
 *   {"t":"q","i":instance}                                       "who is where?" (a start, a reconnect)
 *   {"t":"s","i":instance,"docs":{doc:[users]}}                  all of its users: the answer, and every RENEW_MS
 *
 * Every key reaches the scripts in KEYS, so Redis Cluster routes them.
 */
import type { Logger } from '../../ops/log.js'
import { ActivityLog, LocalPresence, type Activity, type Live, type LiveSink, type PresenceReading, type PresentUser } from '../live.js'
import { docTag, KEY_PREFIX } from './keys.js'
import type { ChannelSubscriber } from './subscriber.js'
import type { RedisClient } from './scripts.js'

/** The channel every instance listens to for the event stream's news. */
export const LIVE_CHANNEL = `${KEY_PREFIX}:{live}:events`
/** A presence field not renewed for this long is dropped (a backstop: dead instances are ignored sooner). */
export const FIELD_TTL_MS = 30_000
/** How often an instance renews its fields. */
export const RENEW_MS = 10_000
/** Between tries to subscribe to the channel (Redis unreachable at start). */
const SUBSCRIBE_RETRY_MS = 1_000
/** How long a document's last activity is kept. */
export const ACTIVITY_TTL_MS = 24 * 3600_000

export function liveKeys (doc: string): { presence: string, activity: string } {
  const base = `${KEY_PREFIX}:{${docTag(doc)}}`
  return { presence: `${base}:presence`, activity: `${base}:activity` }
}

/**
 * Write instance ARGV[2]'s users: ARGV[3] = n, ARGV[4] = the fields' TTL
 * (ms, from now on Redis's clock), then n pairs (user id, JSON), then the
 * ids of users who left. With ARGV[1] = "whole", every other field of this
 * instance goes too (a renewal heals a removal that was lost).
 */
const WRITE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])
local prefix = ARGV[2] .. ' '
local n = tonumber(ARGV[3])
local keep = {}
local i = 5
for k = 1, n do
  local field = prefix .. ARGV[i]
  keep[field] = true
  redis.call('HSET', KEYS[1], field, string.format('%d', now + ttl) .. ' ' .. ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[1], prefix .. ARGV[i])
  i = i + 1
end
if ARGV[1] == 'whole' then
  local fields = redis.call('HKEYS', KEYS[1])
  for _, f in ipairs(fields) do
    if not keep[f] and string.sub(f, 1, #prefix) == prefix then redis.call('HDEL', KEYS[1], f) end
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`

/**
 * Read a document: { last activity or "", field, user JSON, field, ... },
 * dropping fields that expired.
 */
const READ = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local out = { redis.call('GET', KEYS[2]) or '' }
for i = 1, #all, 2 do
  local v = all[i + 1]
  local sp = string.find(v, ' ', 1, true)
  if sp == nil or tonumber(string.sub(v, 1, sp - 1)) <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    out[#out + 1] = all[i]
    out[#out + 1] = string.sub(v, sp + 1)
  end
end
return out
`

interface LiveCommands {
  quireLiveWrite (key: string, mode: string, instance: string, count: string, ttlMs: string, ...rest: string[]): Promise<number>
  quireLiveRead (presence: string, activity: string): Promise<string[]>
}

type LiveClient = RedisClient & LiveCommands

export interface RedisLiveOptions {
  client: RedisClient
  instanceId: string
  publishCommand: 'publish' | 'spublish'
  subscriber: ChannelSubscriber
  /** Instances whose heartbeat expired (RedisBus.deadInstances). */
  deadInstances: () => ReadonlySet<string>
  log: Logger
}

type Message =
  | { t: 'p', i: string, d: string, u: PresentUser[], g: string[] }
  | { t: 'a', i: string, d: string, a: Activity }
  | { t: 'q', i: string }
  | { t: 's', i: string, docs: Record<string, PresentUser[]> }

export class RedisLive implements Live {
  readonly instanceId: string
  private readonly client: LiveClient
  private readonly local = new LocalPresence()
  /** This instance's reports, kept for the documents the registry read misses when Redis is away. */
  private readonly activities = new ActivityLog()
  private sink: LiveSink | null = null
  private renewal: NodeJS.Timeout | null = null
  private retry: NodeJS.Timeout | null = null

  constructor (private readonly opts: RedisLiveOptions) {
    this.instanceId = opts.instanceId
    opts.client.defineCommand('quireLiveWrite', { numberOfKeys: 1, lua: WRITE })
    opts.client.defineCommand('quireLiveRead', { numberOfKeys: 2, lua: READ })
    this.client = opts.client as LiveClient
  }

  /** Resolves after the first try to subscribe; a failed one is retried until it works. */
  async start (sink: LiveSink): Promise<void> {
    this.sink = sink
    this.renewal = setInterval(() => this.renew(), RENEW_MS)
    this.renewal.unref()
    await this.listen()
  }

  private async listen (): Promise<void> {
    try {
      await this.opts.subscriber.subscribe(LIVE_CHANNEL)
      this.send({ t: 'q', i: this.instanceId })
    } catch (err) {
      if (this.sink === null) return
      this.opts.log.warn({ err }, 'live events channel not subscribed yet; retrying')
      this.retry = setTimeout(() => void this.listen(), SUBSCRIBE_RETRY_MS)
      this.retry.unref()
    }
  }

  presence (doc: string, users: PresentUser[], gone: string[]): void {
    this.local.apply(doc, users, gone)
    this.write(doc, 'part', users, gone)
    this.send({ t: 'p', i: this.instanceId, d: doc, u: users, g: gone })
  }

  activity (doc: string, activity: Activity): void {
    this.activities.note(doc, activity)
    this.client.set(liveKeys(doc).activity, JSON.stringify(activity), 'PX', ACTIVITY_TTL_MS)
      .catch((err: unknown) => this.opts.log.debug({ err, doc }, 'activity not recorded'))
    this.send({ t: 'a', i: this.instanceId, d: doc, a: activity })
  }

  async read (doc: string): Promise<PresenceReading> {
    const keys = liveKeys(doc)
    const [activity, ...fields] = await this.client.quireLiveRead(keys.presence, keys.activity)
    const dead = this.opts.deadInstances()
    const users = new Map<string, PresentUser[]>()
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const instance = fields[i].slice(0, fields[i].indexOf(' '))
      if (dead.has(instance)) continue
      const user = parseUser(fields[i + 1])
      if (user === null) continue
      let list = users.get(instance)
      if (list === undefined) users.set(instance, list = [])
      list.push(user)
    }
    return { users, activity: activity === '' ? this.activities.get(doc) : parseActivity(activity) }
  }

  /** A message on LIVE_CHANNEL (routed here by backend.ts). */
  handleMessage (raw: Buffer): void {
    const msg = parseMessage(raw)
    if (msg === null) {
      this.opts.log.warn('malformed message on the live events channel ignored')
      return
    }
    const sink = this.sink
    if (sink === null || msg.i === this.instanceId) return
    switch (msg.t) {
      case 'p': return sink.presence(msg.i, msg.d, msg.u, msg.g, false)
      case 'a': return sink.activity(msg.d, msg.a)
      case 's': return sink.report(msg.i, new Map(Object.entries(msg.docs)))
      case 'q': return this.send(this.fullReport())
    }
  }

  /** The channel was subscribed again after a drop: news may have been lost, ask everyone again. */
  handleRestored (): void {
    this.send({ t: 'q', i: this.instanceId })
    this.renew()
  }

  /** Instances whose heartbeat expired (RedisBus's onDeadInstances). */
  handleDeadInstances (instances: string[]): void {
    this.sink?.instancesGone(instances)
  }

  async close (): Promise<void> {
    if (this.renewal) clearInterval(this.renewal)
    if (this.retry) clearTimeout(this.retry)
    this.renewal = this.retry = null
    this.sink = null
    // Leave nothing behind for readers to filter: remove this instance's fields.
    const writes = [...this.local.docs.keys()].map((doc) => this.writeNow(doc, 'whole', [], []).catch(() => {}))
    this.local.docs.clear()
    await Promise.all(writes)
  }

  /**
   * Every document this instance has users in: fields renewed, anything
   * stale of ours removed, and the others sent the full report (which heals
   * whatever news of ours they missed).
   */
  private renew (): void {
    if (this.client.status !== 'ready') return
    for (const [doc, users] of this.local.docs) this.write(doc, 'whole', [...users.values()], [])
    this.send(this.fullReport())
  }

  private fullReport (): Message {
    return { t: 's', i: this.instanceId, docs: Object.fromEntries([...this.local.docs].map(([doc, users]) => [doc, [...users.values()]])) }
  }

  private write (doc: string, mode: 'part' | 'whole', users: PresentUser[], gone: string[]): void {
    this.writeNow(doc, mode, users, gone).catch((err: unknown) => this.opts.log.debug({ err, doc }, 'presence not recorded; the next renewal retries'))
  }

  private writeNow (doc: string, mode: 'part' | 'whole', users: PresentUser[], gone: string[]): Promise<number> {
    const args: string[] = []
    for (const user of users) args.push(user.id, JSON.stringify(user))
    return this.client.quireLiveWrite(liveKeys(doc).presence, mode, this.instanceId, String(users.length), String(FIELD_TTL_MS), ...args, ...gone)
  }

  private send (msg: Message): void {
    const { client, publishCommand, log } = this.opts
    const body = JSON.stringify(msg)
    const sent = publishCommand === 'spublish' ? client.spublish(LIVE_CHANNEL, body) : client.publish(LIVE_CHANNEL, body)
    sent.catch((err: unknown) => log.debug({ err }, 'live publish failed'))
  }
}

const isString = (v: unknown): v is string => typeof v === 'string'

/** A user as another instance wrote it, or null when it is not one. */
export function toUser (value: unknown): PresentUser | null {
  if (value === null || typeof value !== 'object') return null
  const u = value as Record<string, unknown>
  if (!isString(u.id) || !isString(u.name) || typeof u.typing !== 'boolean' || typeof u.since !== 'number') return null
  return { id: u.id, name: u.name, typing: u.typing, since: u.since, ...(isString(u.color) ? { color: u.color } : {}) }
}

function toUsers (value: unknown): PresentUser[] | null {
  if (!Array.isArray(value)) return null
  const users = value.map(toUser)
  return users.every((u) => u !== null) ? users as PresentUser[] : null
}

function toActivity (value: unknown): Activity | null {
  if (value === null || typeof value !== 'object') return null
  const a = value as Record<string, unknown>
  if (typeof a.at !== 'number' || !Array.isArray(a.by)) return null
  const by = a.by.filter((b): b is { id: string, name: string } => b !== null && typeof b === 'object' && isString(b.id) && isString(b.name))
  return { at: a.at, by: by.map(({ id, name }) => ({ id, name })) }
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

const parseUser = (text: string): PresentUser | null => toUser(parseJson(text))
const parseActivity = (text: string): Activity | null => toActivity(parseJson(text))

/** A message of another instance, checked; null when malformed (a foreign publisher on our channel harms nobody). */
function parseMessage (raw: Buffer): Message | null {
  const m = parseJson(raw.toString('utf8'))
  if (m === null || typeof m !== 'object') return null
  const { t, i, d } = m as Record<string, unknown>
  if (!isString(i)) return null
  if (t === 'q') return { t, i }
  if (t === 's') {
    const docs = (m as { docs?: unknown }).docs
    if (docs === null || typeof docs !== 'object') return null
    const out: Record<string, PresentUser[]> = {}
    for (const [doc, list] of Object.entries(docs)) {
      const users = toUsers(list)
      if (users === null) return null
      out[doc] = users
    }
    return { t, i, docs: out }
  }
  if (!isString(d)) return null
  if (t === 'a') {
    const a = toActivity((m as { a?: unknown }).a)
    return a === null ? null : { t, i, d, a }
  }
  if (t === 'p') {
    const { u, g } = m as { u?: unknown, g?: unknown }
    const users = toUsers(u)
    if (users === null || !Array.isArray(g) || !g.every(isString)) return null
    return { t, i, d, u: users, g }
  }
  return null
}
