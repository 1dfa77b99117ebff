/**
 * Turning an event into deliveries: one body per endpoint that listens to
 * it (the same event id in all), with the document's content rendered once
 * per format the endpoints asked for (includeContent), then queued.
 */
import { randomUUID } from 'node:crypto'
import type { DocumentRegistry } from '../document/registry.js'
import type { Logger } from '../ops/log.js'
import { WEBHOOK_FAILURE, type Metrics } from '../ops/metrics.js'
import type { WebhookContentFormat } from '../config.js'
import { renderContent } from '../content/formats.js'
import type { Endpoints } from './endpoints.js'
import type { Delivery, HookEvent, Hooks, WebhookBody, WebhookContent } from './events.js'
import type { DeliveryQueue } from './queue.js'

/** Longest an event waits for the admin-added endpoints to be read at start (Redis connecting). */
const FIRST_READ_WAIT_MS = 5_000

export interface EmitterDeps {
  endpoints: Endpoints
  queue: DeliveryQueue
  registry: DocumentRegistry
  metrics: Metrics
  log: Logger
  maxContentBytes: number
}

export class Emitter implements Hooks {
  private readonly pending = new Set<Promise<void>>()
  /** Draining: documents are no longer loaded to render content. */
  private closing = false

  constructor (private readonly deps: EmitterDeps) {}

  emit (event: HookEvent): Promise<void> {
    const queued = this.queue(event).catch((err: unknown) => {
      this.deps.log.error({ err, type: event.type, doc: event.doc }, 'webhooks: an event could not be built')
    })
    this.pending.add(queued)
    void queued.finally(() => this.pending.delete(queued))
    return queued
  }

  /** Stop loading documents for content, and wait for the events being queued. */
  async settle (): Promise<void> {
    this.closing = true
    while (this.pending.size > 0) await Promise.all([...this.pending])
  }

  private async queue (event: HookEvent): Promise<void> {
    const { endpoints, metrics, log } = this.deps
    await endpoints.whenRead(FIRST_READ_WAIT_MS)
    const targets = endpoints.listeningTo(event.type)
    if (targets.length === 0) return
    metrics.webhookEvents.inc({ type: event.type })
    const at = event.at === undefined ? Date.now() : new Date(event.at).getTime()
    const base: WebhookBody = {
      id: randomUUID(),
      type: event.type,
      createdAt: new Date(at).toISOString(),
      document: { name: event.doc },
      users: event.users ?? [],
      ...(event.data === undefined ? {} : { data: event.data }),
    }
    const formats = [...new Set(targets.flatMap((t) => t.includeContent ?? []))]
    const contents = formats.length === 0 ? new Map<WebhookContentFormat, WebhookContent>() : await this.render(event, formats)
    const deliveries: Delivery[] = targets.map((t) => ({
      eventId: base.id,
      endpointId: t.id,
      type: event.type,
      at,
      body: JSON.stringify(t.includeContent === undefined ? base : { ...base, content: contents.get(t.includeContent) }),
    }))
    let taken: number
    try {
      taken = await this.deps.queue.add(deliveries)
    } catch (err) {
      metrics.webhookFailures.inc({ reason: WEBHOOK_FAILURE.unavailable }, deliveries.length)
      log.warn({ err, event: base.id, type: event.type }, 'webhooks: the queue is unreachable; event dropped')
      return
    }
    if (taken < deliveries.length) {
      metrics.webhookFailures.inc({ reason: WEBHOOK_FAILURE.queueFull }, deliveries.length - taken)
      log.warn({ event: base.id, type: event.type, dropped: deliveries.length - taken }, 'webhooks: WEBHOOK_MAX_QUEUED deliveries are waiting; event dropped for some endpoints')
    }
  }

  /** The document's content in each format; a deleted or unloadable document has none. */
  private async render (event: HookEvent, formats: WebhookContentFormat[]): Promise<Map<WebhookContentFormat, WebhookContent>> {
    const out = new Map<WebhookContentFormat, WebhookContent>()
    const unavailable = (): Map<WebhookContentFormat, WebhookContent> => {
      for (const format of formats) out.set(format, { format, omitted: 'unavailable' })
      return out
    }
    if (event.type === 'document.deleted' || this.closing) return unavailable()
    const { registry, log, maxContentBytes } = this.deps
    let doc
    try {
      doc = await registry.acquire(event.doc)
    } catch (err) {
      log.warn({ err, doc: event.doc }, 'webhooks: document could not be loaded for its content')
      return unavailable()
    }
    try {
      const ydoc = doc.ydoc
      for (const format of formats) {
        try {
          const { body, contentType } = renderContent(ydoc, format)
          const text = typeof body === 'string' ? body : Buffer.from(body).toString('base64')
          if (Buffer.byteLength(text) > maxContentBytes) out.set(format, { format, omitted: 'too large' })
          else out.set(format, { format, contentType, body: format === 'json' ? JSON.parse(text) as unknown : text })
        } catch (err) {
          log.warn({ err, doc: event.doc, format }, 'webhooks: content could not be rendered')
          out.set(format, { format, omitted: 'unavailable' })
        }
      }
    } catch {
      return unavailable() // a tainted document: its Y.Doc could not be built
    } finally {
      registry.release(doc)
    }
    return out
  }
}
