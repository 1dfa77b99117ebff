/**
 * The delivery queue on Redis: a stream read by one consumer group, one
 * consumer per instance (XREADGROUP on a connection of its own, blocking up
 * to BLOCK_MS), so each delivery goes to one instance. A delivery stays
 * pending on its consumer until it is acknowledged and deleted (delivered or
 * given up); if that instance dies, another takes its pending deliveries
 * over (liveness.ts) and sends them again: at least once.
 */
import type { Logger } from '../../ops/log.js'
import type { RedisClient } from '../../backend/redis/scripts.js'
import type { Delivery } from '../events.js'
import type { DeliveryQueue, DeliverySink } from '../queue.js'
import { GROUP, KEYS, type WebhookClient } from './scripts.js'

/** Longest block of one read (under the connection's command timeout). */
const BLOCK_MS = 1_000
/** Pause after a failed read. */
const RETRY_MS = 1_000

type StreamReply = Array<[string, Array<[string, string[]]>]> | null

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref())

export class RedisQueue implements DeliveryQueue {
  private sink: DeliverySink | null = null
  private closed = false
  private failing = false
  private running: Promise<void> | null = null
  /** Finished deliveries whose acknowledgement failed: tried again before the next read. */
  private readonly unacked = new Set<string>()

  constructor (
    private readonly client: WebhookClient,
    private readonly reader: RedisClient,
    private readonly consumer: string,
    private readonly max: number,
    /** Resolves once this instance is listed alive (liveness.ts): only then does it take deliveries. */
    private readonly alive: Promise<void>,
    private readonly log: Logger,
  ) {}

  async add (deliveries: Delivery[]): Promise<number> {
    if (deliveries.length === 0) return 0
    return this.client.quireWebhookEnqueue(KEYS.queue, String(this.max), ...deliveries.map((d) => JSON.stringify(d)))
  }

  async start (sink: DeliverySink): Promise<void> {
    this.sink = sink
    this.running = this.loop()
  }

  async done (key: string): Promise<void> {
    try {
      await this.client.quireWebhookDone(KEYS.queue, GROUP, key)
    } catch (err) {
      this.unacked.add(key)
      throw err
    }
  }

  async size (): Promise<number> {
    return this.client.xlen(KEYS.queue)
  }

  /** Deliveries taken over from a silent instance: this one's now. */
  adopt (claimed: Array<{ id: string, delivery: string }>): void {
    for (const { id, delivery } of claimed) this.hand(id, delivery)
  }

  async close (): Promise<void> {
    this.closed = true
    this.sink = null
    this.reader.disconnect()
    await this.running
  }

  private hand (id: string, text: string): void {
    let delivery: Delivery
    try {
      delivery = JSON.parse(text) as Delivery
    } catch (err) {
      this.log.warn({ err, id }, 'webhooks: a queued delivery does not parse; dropped')
      this.unacked.add(id)
      return
    }
    this.sink?.take({ key: id, delivery })
  }

  private async loop (): Promise<void> {
    await this.alive
    let grouped = false
    while (!this.closed) {
      const sink = this.sink
      if (sink === null) return
      if (this.reader.status !== 'ready' || this.client.status !== 'ready') {
        // Connecting, or an outage (the connections log it).
        await pause(RETRY_MS / 4)
        continue
      }
      try {
        if (!grouped) grouped = await this.createGroup()
        await sink.whenRoom()
        if (this.closed) return
        if (this.unacked.size > 0) {
          const ids = [...this.unacked]
          await this.client.quireWebhookDone(KEYS.queue, GROUP, ...ids)
          for (const id of ids) this.unacked.delete(id)
        }
        const reply = await this.reader.xreadgroup('GROUP', GROUP, this.consumer, 'COUNT', sink.room(), 'BLOCK', BLOCK_MS, 'STREAMS', KEYS.queue, '>') as StreamReply
        if (this.failing) this.log.info('webhooks: reading the queue again')
        this.failing = false
        for (const [, entries] of reply ?? []) for (const [id, fields] of entries) this.hand(id, fields[1])
      } catch (err) {
        if (this.closed) return
        if (err instanceof Error && err.message.includes('NOGROUP')) grouped = false
        if (!this.failing) this.log.warn({ err }, 'webhooks: reading the queue failed; retrying')
        this.failing = true
        await pause(RETRY_MS)
      }
    }
  }

  /** Ids of the deliveries pending on this instance (after a takeover: which of those it holds are still its own). */
  async pendingHere (): Promise<Set<string>> {
    const ids = new Set<string>()
    let from = '-'
    for (;;) {
      const page = await this.client.xpending(KEYS.queue, GROUP, from, '+', 1000, this.consumer) as Array<[string, string, number, number]>
      for (const [id] of page) ids.add(id)
      if (page.length < 1000) return ids
      from = '(' + page[page.length - 1][0]
    }
  }

  private async createGroup (): Promise<boolean> {
    try {
      await this.client.xgroup('CREATE', KEYS.queue, GROUP, '0', 'MKSTREAM')
    } catch (err) {
      if (!(err instanceof Error && err.message.includes('BUSYGROUP'))) throw err
    }
    return true
  }
}
