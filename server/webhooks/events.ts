/**
 * What the webhooks carry (docs/webhooks.md, "The body"): the events other
 * parts of the server emit, the JSON body an endpoint receives, and one
 * queued delivery of an event to one endpoint.
 */
import type { WebhookContentFormat, WebhookEventType } from '../config.js'

export type { WebhookEventType }

/** Someone an event is about: with auth on, the token's `sub` and `name`. */
export interface WebhookUser { id: string, name?: string }

/**
 * An event, as server-side code emits it (`hooks.emit`). `doc` is the
 * document's name; `at` when it happened (default: now); `data`,
 * event-specific details that go into the body as they are (version.created:
 * the version's id, say).
 */
export interface HookEvent {
  type: WebhookEventType
  doc: string
  users?: WebhookUser[]
  at?: Date | number
  data?: Record<string, unknown>
}

/**
 * Where events go. `emit` never throws and never waits for a delivery: it
 * resolves once the event is queued for every endpoint that listens to it
 * (callers may ignore the promise: `void hooks.emit(...)`).
 */
export interface Hooks {
  emit (event: HookEvent): Promise<void>
}

/** Hooks that send nothing: no endpoint can be configured (neither WEBHOOKS nor API_KEY). */
export const NO_HOOKS: Hooks = { emit: async () => {} }

/** The document's content in the body, when the endpoint asked for it (`includeContent`). */
export type WebhookContent =
  | { format: WebhookContentFormat, contentType: string, body: unknown }
  | { format: WebhookContentFormat, omitted: 'too large' | 'unavailable' }

/** The JSON body an endpoint receives. */
export interface WebhookBody {
  /** The event's id: the same in every retry, and in the Quire-Webhook-Id header. */
  id: string
  type: WebhookEventType
  /** When it happened (ISO 8601, UTC). */
  createdAt: string
  document: { name: string }
  users: WebhookUser[]
  data?: Record<string, unknown>
  content?: WebhookContent
}

/** One event for one endpoint, as queued (and persisted) until delivered or given up. */
export interface Delivery {
  eventId: string
  endpointId: string
  type: WebhookEventType
  /** The body, exactly as it is sent and signed. */
  body: string
  /** When the event happened (ms since the epoch): the retry window and the latency count from here. */
  at: number
}

/** The user of an awareness state (its `user.id`, else its `user.name`), or null when it names nobody. */
export function userOfState (json: string): WebhookUser | null {
  let state: unknown
  try {
    state = JSON.parse(json)
  } catch {
    return null
  }
  const user = typeof state === 'object' && state !== null ? (state as Record<string, unknown>).user : undefined
  if (typeof user !== 'object' || user === null) return null
  const { id, name } = user as Record<string, unknown>
  const text = (v: unknown): string | undefined => typeof v === 'string' && v.trim() !== '' ? v.slice(0, 256) : undefined
  const key = text(id) ?? text(name)
  if (key === undefined) return null
  const display = text(name)
  return display === undefined ? { id: key } : { id: key, name: display }
}
