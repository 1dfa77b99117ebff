/**
 * document.changed, debounced (docs/webhooks.md, "Events"): a document's
 * changes made through this instance are reported once things have been
 * quiet for WEBHOOK_DEBOUNCE_MS, and at the latest WEBHOOK_MAX_WAIT_MS after
 * the first change of the batch, naming everyone whose edits it holds.
 * Each instance reports the changes made through it, so a change is
 * reported once however many instances there are.
 */
import type { Gauge } from 'prom-client'
import { TrackedTimer } from '../ops/timers.js'
import type { WebhookUser } from './events.js'

export interface ChangeReporterDeps {
  debounceMs: number
  maxWaitMs: number
  timers: Gauge
  /** A batch is due: `at` is its last change. */
  report (doc: string, users: WebhookUser[], at: number): void
}

interface Batch {
  first: number
  last: number
  timer: TrackedTimer
  users: Map<string, WebhookUser>
}

export class ChangeReporter {
  private readonly batches = new Map<string, Batch>()

  constructor (private readonly deps: ChangeReporterDeps) {}

  /** `doc` changed through this instance; `users` made the change (as far as their presence tells). */
  changed (doc: string, users: WebhookUser[]): void {
    const now = Date.now()
    const { debounceMs, maxWaitMs, timers } = this.deps
    const batch = this.batches.get(doc)
    batch?.timer.clear()
    const first = batch?.first ?? now
    const wait = Math.max(0, Math.min(debounceMs, first + maxWaitMs - now))
    const next: Batch = { first, last: now, users: batch?.users ?? new Map(), timer: new TrackedTimer(timers, () => this.fire(doc), wait) }
    for (const user of users) next.users.set(user.id, user)
    this.batches.set(doc, next)
  }

  /** Report every batch now (the instance is draining), or only `only`'s (it unloads). */
  flush (only?: string): void {
    for (const [doc, batch] of [...this.batches]) {
      if (only !== undefined && doc !== only) continue
      batch.timer.clear()
      this.fire(doc)
    }
  }

  private fire (doc: string): void {
    const batch = this.batches.get(doc)
    if (batch === undefined) return
    this.batches.delete(doc)
    this.deps.report(doc, [...batch.users.values()], batch.last)
  }
}
