/**
 * Which instances are alive, for the webhooks: each renews its entry in
 * `alive` every beat, and one that stays silent WEBHOOK_CLAIM_AFTER_MS is
 * taken over by the first other instance to notice (atomically, so by one
 * only): its pending deliveries become that instance's, and its users
 * leave. An instance that finds itself taken over (it stalled) lets go of
 * the deliveries it held and announces its users again. After its own
 * start or a Redis outage an instance waits a full period before judging
 * others (nobody could renew meanwhile).
 */
import type { Logger } from '../../ops/log.js'
import { GROUP, KEYS, type WebhookClient } from './scripts.js'

export interface Takeover {
  /** {doc, user} JSON of the users of the silent instance who are now present nowhere. */
  left: string[]
  /** Its pending deliveries, now this instance's. */
  claimed: Array<{ id: string, delivery: string }>
}

export interface LivenessEvents {
  takenOver (takeover: Takeover): void
  /** This instance was taken over while it stalled. */
  revived (): void
  /** After every good beat (the ledger's resync runs from here). */
  beat (): Promise<void>
}

export class Liveness {
  private timer: NodeJS.Timeout | null = null
  private beating = false
  private beaten = false
  private failing = false
  private healthySince: number | null = null
  readonly beatMs: number
  /** Resolves at the first good beat: before it, nobody could take this instance over, so it takes on nothing. */
  readonly alive: Promise<void>
  private markAlive!: () => void

  constructor (
    private readonly client: WebhookClient,
    readonly instanceId: string,
    private readonly ttlMs: number,
    private readonly events: LivenessEvents,
    private readonly log: Logger,
  ) {
    this.beatMs = Math.max(100, Math.min(1_000, Math.floor(ttlMs / 4)))
    this.alive = new Promise((resolve) => { this.markAlive = resolve })
  }

  start (): void {
    this.timer = setInterval(() => { void this.beat() }, this.beatMs)
    this.timer.unref()
    // At once when the connection comes (or comes back), not a beat later.
    this.client.on('ready', this.onReady)
    void this.beat()
  }

  private readonly onReady = (): void => { void this.beat() }

  async beat (): Promise<void> {
    if (this.beating) return
    if (this.client.status !== 'ready') {
      // Connecting, or an outage (the connection logs it): judge others only after a grace once back.
      this.healthySince = null
      return
    }
    this.beating = true
    try {
      await this.renewAndJudge()
      if (this.failing) this.log.info('webhooks: Redis reachable again')
      this.failing = false
      await this.events.beat()
    } catch (err) {
      if (!this.failing) this.log.warn({ err }, 'webhooks: liveness beat failed')
      this.failing = true
      this.healthySince = null
    } finally {
      this.beating = false
    }
  }

  private async renewAndJudge (): Promise<void> {
    const { client, instanceId } = this
    const added = await client.quireWebhookBeat(KEYS.alive, instanceId, String(this.ttlMs))
    if (added === 1 && this.beaten) {
      this.log.warn('webhooks: this instance was silent and another took over its deliveries; resuming')
      this.events.revived()
    }
    this.beaten = true
    this.markAlive()
    const now = performance.now()
    this.healthySince ??= now
    if (now - this.healthySince < this.ttlMs + this.beatMs) return
    for (const dead of await client.quireWebhookExpired(KEYS.alive, instanceId)) {
      const result = await client.quireWebhookTakeover(KEYS.alive, KEYS.queue, KEYS.present, KEYS.presentOf(dead), GROUP, instanceId, dead)
      if (result.length === 0) continue
      const [left, flat] = result
      const claimed: Takeover['claimed'] = []
      for (let i = 0; i + 1 < flat.length; i += 2) claimed.push({ id: flat[i], delivery: flat[i + 1] })
      this.log.info({ instance: dead, usersLeft: left.length, deliveries: claimed.length }, 'webhooks: took over a silent instance')
      this.events.takenOver({ left, claimed })
    }
  }

  /** Stop beating and give this instance up at once, so another takes over what it leaves now. */
  async stop (): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.client.off('ready', this.onReady)
    this.markAlive()
    await this.client.quireWebhookRetire(KEYS.alive, this.instanceId).catch(() => {})
  }
}
