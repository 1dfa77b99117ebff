/**
 * One document's log as this instance follows it. Update messages from the
 * bus normally arrive in order and are applied at once; a message whose
 * first position is past what was applied reveals a gap (a lost or reordered
 * message, or entries appended while the subscription was not yet up), and
 * the feed reads the missing range from the log instead. Messages arriving
 * during that read wait and are replayed after it.
 */
import type { Gauge } from 'prom-client'
import type { BusSink } from '../bus.js'
import type { Logger } from '../../ops/log.js'
import { Backoff, STORE_RETRY } from '../../ops/backoff.js'
import type { AppliedLog } from './positions.js'

export interface LogRange {
  /** Position of the last entry in the log. */
  seq: number
  updates: Uint8Array[]
}

export interface UpdatesMessage {
  instance: string
  last: number
  updates: Uint8Array[]
}

export type ReadLog = (name: string, from: number) => Promise<LogRange>

interface Waiter { resolve: () => void, reject: (err: unknown) => void }

export class DocFeed implements AppliedLog {
  applied: number
  private reading = false
  private pending: UpdatesMessage[] = []
  private waiters: Waiter[] = []
  /** The next read after a failed one. */
  private readonly retry: Backoff
  private closed = false

  constructor (
    readonly name: string,
    position: number,
    private readonly sink: BusSink,
    private readonly readLog: ReadLog,
    /** This instance: its own updates are already in the document. */
    private readonly self: string,
    private readonly log: Logger,
    /** quire_timers_active: the retry timer counts there. */
    timers: Gauge,
  ) {
    this.applied = position
    this.retry = new Backoff(timers, STORE_RETRY)
  }

  receive (msg: UpdatesMessage): void {
    if (this.closed) return
    if (this.reading || this.retry.pending) {
      this.pending.push(msg)
      return
    }
    if (msg.last <= this.applied) return
    const prev = msg.last - msg.updates.length
    if (prev > this.applied) {
      // The message is in the log already (appended before it was published): the read brings it.
      void this.catchUp().catch(() => {})
      return
    }
    if (msg.instance !== this.self) this.sink.onRemoteUpdates(msg.updates)
    this.applied = msg.last
  }

  /**
   * Read everything after `applied` from the log. Resolves once a read that
   * started after this call has completed; rejects when that read fails (a
   * retry with backoff is then under way).
   */
  catchUp (): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return resolve()
      this.waiters.push({ resolve, reject })
      // A read in flight may have started too early; `read` goes again for new waiters.
      if (!this.reading) void this.read()
    })
  }

  close (): void {
    this.closed = true
    this.retry.cancel()
    this.pending = []
    for (const w of this.waiters.splice(0)) w.resolve()
  }

  private async read (): Promise<void> {
    this.reading = true
    this.retry.cancel()
    const waiters = this.waiters.splice(0)
    let failure: unknown = null
    try {
      const range = await this.readLog(this.name, this.applied + 1)
      if (!this.closed) {
        if (range.updates.length > 0) this.sink.onRemoteUpdates(range.updates)
        this.applied = Math.max(this.applied, range.seq)
        this.retry.reset()
      }
    } catch (err) {
      failure = err
    }
    this.reading = false
    for (const w of waiters) {
      if (failure === null) w.resolve()
      else w.reject(failure)
    }
    if (this.closed) return
    if (failure !== null) {
      this.log.warn({ err: failure, doc: this.name, retryInMs: this.retry.delayMs }, 'catching up from the log failed; retrying')
      this.retry.schedule(() => { if (!this.reading) void this.read() })
      return
    }
    if (this.waiters.length > 0) {
      // Someone asked for a read that began after ours did (a reconnect).
      void this.read()
      return
    }
    const pending = this.pending
    this.pending = []
    for (const msg of pending) this.receive(msg)
  }
}
