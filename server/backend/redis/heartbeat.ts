/**
 * Each instance renews its entry in a sorted set every BEAT_MS (score = when
 * it expires, on Redis's clock). The same script returns the instances whose
 * entry expired; each is reported once, so the bus can remove the awareness
 * states of their clients. An instance that comes back renews its entry and
 * counts as alive again.
 */
import type { Logger } from '../../ops/log.js'
import { INSTANCES_KEY } from './keys.js'
import type { ScriptedClient } from './scripts.js'

export const BEAT_MS = 500
/** An instance silent this long counts as dead (a stall this long, too: see PresenceDirectory). */
export const TTL_MS = 2_500
/** Expired entries are dropped from the set after this long. */
const FORGET_MS = 10 * 60_000

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null
  private dead = new Set<string>()
  private failing = false
  /** Since when our beats succeed; during an outage nobody could renew, so judge only after a grace. */
  private healthySince: number | null = null

  constructor (
    private readonly client: ScriptedClient,
    readonly instanceId: string,
    private readonly onDead: (instances: string[]) => void,
    private readonly log: Logger,
  ) {}

  /** Instances whose heartbeat has expired, as of the last beat (empty during the grace after a start or an outage). */
  get deadInstances (): ReadonlySet<string> { return this.dead }

  start (): void {
    if (this.timer) return
    this.timer = setInterval(() => void this.beat(), BEAT_MS)
    this.timer.unref()
    void this.beat()
  }

  async beat (): Promise<void> {
    if (this.client.status !== 'ready') {
      this.healthySince = null
      return
    }
    let expired: string[]
    try {
      expired = await this.client.quireHeartbeat(INSTANCES_KEY, this.instanceId, String(TTL_MS), String(FORGET_MS))
      this.failing = false
    } catch (err) {
      if (!this.failing) this.log.warn({ err }, 'heartbeat failed')
      this.failing = true
      this.healthySince = null
      return
    }
    const now = performance.now()
    this.healthySince ??= now
    // After a start or a Redis outage every entry may have expired: give the
    // others a full TTL to renew before calling anyone dead.
    if (now - this.healthySince < TTL_MS + BEAT_MS) return
    const newlyDead = expired.filter((id) => !this.dead.has(id) && id !== this.instanceId)
    this.dead = new Set(expired)
    if (newlyDead.length > 0) {
      this.log.info({ instances: newlyDead }, 'instances stopped heartbeating; removing their clients\' presence')
      this.onDead(newlyDead)
    }
  }

  /** The connection came (back): beat now, and judge others only after a grace. */
  reconnected (): void {
    this.healthySince = null
    void this.beat()
  }

  /** Stop, and leave the set so nobody waits for our expiry. */
  async stop (): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    if (this.client.status === 'ready') await this.client.zrem(INSTANCES_KEY, this.instanceId).catch(() => {})
  }
}
