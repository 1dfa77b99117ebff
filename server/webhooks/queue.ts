/**
 * The delivery queue: deliveries wait here until they are delivered or
 * given up. Two kinds: `LocalQueue` (one instance: in memory, and kept in
 * the embedded store's key space when there is one, so a restart or a
 * kill -9 loses nothing queued) and the Redis queue (redis/queue.ts: every
 * instance takes deliveries from one stream, each delivery goes to one of
 * them).
 */
import type { KeySpace } from '../backend/embedded/level-store.js'
import type { Logger } from '../ops/log.js'
import type { Delivery } from './events.js'

export interface QueuedDelivery {
  /** The queue's own id for it. */
  key: string
  delivery: Delivery
}

/** What takes deliveries from a queue (worker.ts). */
export interface DeliverySink {
  /** How many more deliveries it takes now. */
  room (): number
  /** Resolves once `room()` is above 0. */
  whenRoom (): Promise<void>
  take (item: QueuedDelivery): void
}

export interface DeliveryQueue {
  /** Queue deliveries; resolves with how many were taken (WEBHOOK_MAX_QUEUED refuses the rest), once they are stored. */
  add (deliveries: Delivery[]): Promise<number>
  /** Hand deliveries to `sink` as it has room, until `close`. */
  start (sink: DeliverySink): Promise<void>
  /** Delivered or given up: removed for good. */
  done (key: string): Promise<void>
  /** Deliveries waiting (queued, being sent, or between retries). */
  size (): Promise<number>
  /** Stop handing out; what was not done stays queued (stored, or for another instance). */
  close (): Promise<void>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class LocalQueue implements DeliveryQueue {
  /** Waiting to be handed out, in order. */
  private readonly waiting = new Map<string, Delivery>()
  /** Handed out and not done yet. */
  private readonly held = new Set<string>()
  private sink: DeliverySink | null = null
  private seq = 0
  private closed = false
  private waitingForRoom = false

  /** `space`: where deliveries are kept across restarts (the embedded store), or null for memory only. */
  constructor (private readonly space: KeySpace | null, private readonly max: number, private readonly log: Logger) {}

  async add (deliveries: Delivery[]): Promise<number> {
    const room = Math.max(0, this.max - this.waiting.size - this.held.size)
    const taken = deliveries.slice(0, room).map((delivery) => ({ key: this.nextKey(), delivery }))
    if (taken.length === 0) return 0
    if (this.space !== null) await Promise.all(taken.map(({ key, delivery }) => this.space!.put(key, encoder.encode(JSON.stringify(delivery)))))
    for (const { key, delivery } of taken) this.waiting.set(key, delivery)
    this.pump()
    return taken.length
  }

  async start (sink: DeliverySink): Promise<void> {
    if (this.space !== null) {
      let restored = 0
      for await (const [key, value] of this.space.entries()) {
        try {
          this.waiting.set(key, JSON.parse(decoder.decode(value)) as Delivery)
          restored++
        } catch (err) {
          this.log.warn({ err, key }, 'webhooks: a stored delivery does not parse; dropped')
          await this.space.del(key)
        }
        // Keys sort in the order they were made; carry on after the last.
        this.seq = Math.max(this.seq, Number(key.split('-')[1] ?? 0))
      }
      if (restored > 0) this.log.info({ deliveries: restored }, 'webhooks: deliveries queued before the restart resume')
    }
    this.sink = sink
    this.pump()
  }

  async done (key: string): Promise<void> {
    this.held.delete(key)
    this.waiting.delete(key)
    if (this.space !== null) await this.space.del(key)
  }

  async size (): Promise<number> {
    return this.waiting.size + this.held.size
  }

  async close (): Promise<void> {
    this.closed = true
    this.sink = null
  }

  private pump (): void {
    const sink = this.sink
    if (sink === null || this.closed) return
    for (const [key, delivery] of this.waiting) {
      if (sink.room() <= 0) {
        if (!this.waitingForRoom) {
          this.waitingForRoom = true
          void sink.whenRoom().then(() => {
            this.waitingForRoom = false
            this.pump()
          })
        }
        return
      }
      this.waiting.delete(key)
      this.held.add(key)
      sink.take({ key, delivery })
    }
  }

  /** Time first, so the stored keys sort in the order deliveries were queued, restarts included. */
  private nextKey (): string {
    return `${Date.now().toString().padStart(15, '0')}-${(++this.seq).toString().padStart(12, '0')}`
  }
}
