/**
 * The events this instance's streams were sent, kept for replay: a client
 * that reconnects with `Last-Event-ID` gets what it missed when every event
 * since is still here (at most EVENTS_BUFFER of them, none older than
 * EVENTS_RETENTION_MS); otherwise it gets a `reset`.
 *
 * An id is `<epoch>-<seq>`: seq grows by one per event, and the epoch names
 * this process, so an id from another instance (or from before a restart)
 * is recognised as unknown here rather than mistaken for one of ours.
 */
import { randomBytes } from 'node:crypto'

export type EventType = 'join' | 'leave' | 'typing' | 'change'

export interface LiveEvent {
  seq: number
  /** When it was kept (ms since the epoch, this instance's clock). */
  at: number
  type: EventType
  doc: string
  /** The `data:` line: JSON. */
  data: string
}

export class EventRing {
  readonly epoch = randomBytes(4).toString('hex')
  private readonly kept: LiveEvent[] = []
  /** Index of the oldest kept event in `kept` (dropping from the front is amortised). */
  private head = 0
  private seq = 0

  constructor (private readonly max: number, private readonly retentionMs: number) {}

  /** The id of the last event (a snapshot taken now stands at it). */
  get lastSeq (): number { return this.seq }
  get size (): number { return this.kept.length - this.head }

  push (type: EventType, doc: string, data: string, now = Date.now()): LiveEvent {
    const event: LiveEvent = { seq: ++this.seq, at: now, type, doc, data }
    this.kept.push(event)
    this.trim(now)
    return event
  }

  idOf (seq: number): string { return `${this.epoch}-${seq}` }

  /** The seq of one of our ids; null for an id of another process or garbage. */
  seqOf (id: string): number | null {
    const dash = id.lastIndexOf('-')
    if (dash < 0 || id.slice(0, dash) !== this.epoch) return null
    const tail = id.slice(dash + 1)
    if (!/^\d{1,15}$/.test(tail)) return null
    const seq = Number(tail)
    return seq <= this.seq ? seq : null
  }

  /** Every event after `seq`, or null when some of them are no longer kept. */
  after (seq: number, now = Date.now()): LiveEvent[] | null {
    this.trim(now)
    if (seq === this.seq) return []
    if (seq > this.seq || this.size === 0 || this.kept[this.head].seq > seq + 1) return null
    return this.kept.slice(this.head + (seq + 1 - this.kept[this.head].seq))
  }

  private trim (now: number): void {
    while (this.size > 0 && (this.size > this.max || now - this.kept[this.head].at > this.retentionMs)) this.head++
    if (this.head > 1024 && this.head * 2 > this.kept.length) {
      this.kept.splice(0, this.head)
      this.head = 0
    }
  }
}
