/**
 * Delivering: takes deliveries from the queue (up to CONCURRENCY attempts
 * at once, retries included), sends them, and retries those that fail with exponential
 * backoff and full jitter (server/ops/backoff.ts) until WEBHOOK_RETRY_FOR_MS
 * after their event has passed (docs/webhooks.md, "Retries"). Every request
 * is counted (quire_webhook_deliveries_total) and logged: that is the
 * delivery log.
 */
import { setMaxListeners } from 'node:events'
import type { Gauge } from 'prom-client'
import { Backoff } from '../ops/backoff.js'
import type { Logger } from '../ops/log.js'
import { WEBHOOK_FAILURE, WEBHOOK_RESULT, type Metrics, type WebhookFailure } from '../ops/metrics.js'
import type { Endpoints } from './endpoints.js'
import type { DeliveryQueue, DeliverySink, QueuedDelivery } from './queue.js'
import { send, type SendOptions } from './send.js'

/** Requests one instance makes at once. */
export const CONCURRENCY = 16
/** No retry waits longer than this. */
const MAX_RETRY_DELAY_MS = 10 * 60_000

export interface WorkerOptions {
  retryForMs: number
  retryBaseMs: number
  timeoutMs: number
  allowPrivate: boolean
}

export interface WorkerDeps {
  queue: DeliveryQueue
  endpoints: Endpoints
  metrics: Metrics
  timers: Gauge
  log: Logger
  options: WorkerOptions
}

interface Held {
  item: QueuedDelivery
  backoff: Backoff
  attempts: number
}

export class Worker implements DeliverySink {
  private readonly held = new Map<string, Held>()
  /** Attempts under way (looking up the endpoint, or sending): at most CONCURRENCY. */
  private busy = 0
  /** Retries whose time came while every slot was taken, oldest first. */
  private readonly due: Held[] = []
  private readonly aborts = new AbortController()
  private roomWaiters: Array<() => void> = []
  private closed = false

  constructor (private readonly deps: WorkerDeps) {
    // Every request in flight listens to it.
    setMaxListeners(CONCURRENCY + 1, this.aborts.signal)
  }

  room (): number {
    return this.closed ? 0 : CONCURRENCY - this.busy - this.due.length
  }

  whenRoom (): Promise<void> {
    if (this.room() > 0) return Promise.resolve()
    return new Promise((resolve) => this.roomWaiters.push(resolve))
  }

  take (item: QueuedDelivery): void {
    if (this.closed || this.held.has(item.key)) return
    const { retryBaseMs } = this.deps.options
    const h: Held = { item, backoff: new Backoff(this.deps.timers, { baseMs: retryBaseMs, maxMs: Math.max(retryBaseMs, MAX_RETRY_DELAY_MS), jitter: 'full' }), attempts: 0 }
    this.held.set(item.key, h)
    this.start(h)
  }

  /** Let go of the deliveries `keep` says no to (another instance took them over): nothing more is sent or acknowledged for them. */
  abandon (keep: (key: string) => boolean = () => false): void {
    for (const [key, h] of [...this.held]) {
      if (keep(key)) continue
      h.backoff.cancel()
      this.held.delete(key)
    }
  }

  /** Stop: pending retries are cancelled and requests in flight aborted; the queue keeps what was not done. */
  close (): void {
    this.closed = true
    this.abandon()
    this.due.length = 0
    this.aborts.abort()
    for (const wake of this.roomWaiters.splice(0)) wake()
  }

  private start (h: Held): void {
    this.busy++
    void this.attempt(h).finally(() => {
      this.busy--
      const next = this.due.shift()
      if (next !== undefined) return this.start(next)
      if (this.room() > 0) for (const wake of this.roomWaiters.splice(0)) wake()
    })
  }

  /** A retry's time came: now if a slot is free, else as soon as one is. */
  private retry (h: Held): void {
    if (this.closed || this.held.get(h.item.key) !== h) return
    if (this.busy < CONCURRENCY) this.start(h)
    else this.due.push(h)
  }

  private async attempt (h: Held): Promise<void> {
    const { delivery, key } = h.item
    const { metrics, log, options } = this.deps
    if (this.held.get(key) !== h) return
    const endpoint = await this.deps.endpoints.find(delivery.endpointId)
    if (this.held.get(key) !== h) return
    if (endpoint === undefined) return this.finish(h, WEBHOOK_FAILURE.removed)
    h.attempts++
    metrics.webhookInFlight.inc()
    const started = performance.now()
    const sendOptions: SendOptions = { timeoutMs: options.timeoutMs, allowPrivate: options.allowPrivate, signal: this.aborts.signal }
    const outcome = await send(endpoint, delivery, h.attempts, sendOptions).finally(() => metrics.webhookInFlight.dec())
    if (this.held.get(key) !== h) return
    metrics.webhookDeliveries.inc({ result: outcome.result })
    const entry = { event: delivery.eventId, type: delivery.type, endpoint: endpoint.id, attempt: h.attempts, status: outcome.status, ms: Math.round(performance.now() - started) }
    switch (outcome.result) {
      case WEBHOOK_RESULT.delivered:
        metrics.webhookDeliverySeconds.observe(Math.max(0, Date.now() - delivery.at) / 1000)
        log.info(entry, 'webhook delivered')
        return this.finish(h, null)
      case WEBHOOK_RESULT.gone:
        log.warn(entry, 'webhook endpoint answered 410 Gone; not retried')
        return this.finish(h, WEBHOOK_FAILURE.gone)
      case WEBHOOK_RESULT.blocked:
        log.warn({ ...entry, error: outcome.error }, 'webhook endpoint points at a private address; not sent')
        return this.finish(h, WEBHOOK_FAILURE.blocked)
    }
    const delay = h.backoff.delayMs
    if (Date.now() + delay > delivery.at + options.retryForMs) {
      log.warn({ ...entry, error: outcome.error, result: outcome.result }, 'webhook delivery failed; retry window over, given up')
      return this.finish(h, WEBHOOK_FAILURE.expired)
    }
    log.info({ ...entry, error: outcome.error, result: outcome.result, retryInMs: delay }, 'webhook delivery failed; retrying')
    h.backoff.schedule(() => this.retry(h))
  }

  private async finish (h: Held, failure: WebhookFailure | null): Promise<void> {
    this.held.delete(h.item.key)
    h.backoff.cancel()
    if (failure !== null) this.deps.metrics.webhookFailures.inc({ reason: failure })
    try {
      await this.deps.queue.done(h.item.key)
    } catch (err) {
      this.deps.log.warn({ err, event: h.item.delivery.eventId }, 'webhooks: could not remove a finished delivery from the queue')
    }
  }
}
