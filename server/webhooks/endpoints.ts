/**
 * The endpoints events go to: those WEBHOOKS configures (the operator's,
 * fixed for the process) and those added through the admin API (kept in the
 * backend, so every instance sees them). Every instance keeps the list in
 * memory and reads the stored ones again every REFRESH_MS, and at once when
 * it changes them itself or meets an endpoint id it does not know.
 */
import { createHash } from 'node:crypto'
import type { WebhookContentFormat, WebhookEndpointInput, WebhookEventType } from '../config.js'
import type { Logger } from '../ops/log.js'
import type { KeySpace } from '../backend/embedded/level-store.js'

/** How stale an instance's list of admin-added endpoints may be. */
export const REFRESH_MS = 5_000
/** Until the stored list has been read once, it is tried this often. */
const FIRST_READ_RETRY_MS = 250
/** Endpoints the admin API may hold (WEBHOOKS has no limit). */
export const MAX_ADDED_ENDPOINTS = 100

export interface Endpoint {
  id: string
  url: string
  /** The events it wants; `*` is every event. */
  events: Array<WebhookEventType | '*'>
  secret: string
  includeContent?: WebhookContentFormat
  /** `env`: from WEBHOOKS; `api`: added through the admin API (its address is checked: address-policy.ts). */
  source: 'env' | 'api'
  /** When it was added (admin API only; ISO 8601). */
  createdAt?: string
}

/** Where admin-added endpoints are kept: a Redis hash, the embedded store's key space, or memory. */
export interface EndpointStore {
  list (): Promise<Endpoint[]>
  put (endpoint: Endpoint): Promise<void>
  /** True when there was one. */
  remove (id: string): Promise<boolean>
}

/** An endpoint as the admin API shows it: everything but its secret. */
export function publicView ({ id, url, events, includeContent, source, createdAt }: Endpoint): Omit<Endpoint, 'secret'> {
  return { id, url, events, ...(includeContent === undefined ? {} : { includeContent }), source, ...(createdAt === undefined ? {} : { createdAt }) }
}

/** WEBHOOKS entries: their ids come from their URLs, so they stay the same across restarts and instances. */
export function fromEnvironment (list: WebhookEndpointInput[]): Endpoint[] {
  return list.map((e) => ({
    id: `env-${createHash('sha256').update(e.url).digest('hex').slice(0, 16)}`,
    url: e.url,
    events: e.events,
    secret: e.secret,
    ...(e.includeContent === undefined ? {} : { includeContent: e.includeContent }),
    source: 'env',
  }))
}

export class Endpoints {
  private added: Endpoint[] = []
  private refreshing: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private loaded = false
  private readonly firstRead: Promise<void>
  private markRead!: () => void

  constructor (
    private readonly configured: Endpoint[],
    readonly store: EndpointStore,
    private readonly log: Logger,
  ) {
    this.firstRead = new Promise((resolve) => { this.markRead = resolve })
  }

  /** Read the stored list now (again and again until it works: Redis may still be connecting), then every REFRESH_MS. */
  start (): void {
    const tick = (): void => {
      void this.refresh().then(() => {
        if (this.timer === null) return
        this.timer = setTimeout(tick, this.loaded ? REFRESH_MS : FIRST_READ_RETRY_MS)
        this.timer.unref()
      })
    }
    this.timer = setTimeout(tick, 0)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.markRead()
  }

  /** Resolves once the stored list has been read, or after `ms` (events do not wait forever for an unreachable store). */
  whenRead (ms: number): Promise<void> {
    if (this.loaded) return Promise.resolve()
    let timer: NodeJS.Timeout | undefined
    return Promise.race([this.firstRead, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms) })]).finally(() => clearTimeout(timer))
  }

  all (): Endpoint[] {
    return [...this.configured, ...this.added]
  }

  /** The endpoints that want events of `type`. */
  listeningTo (type: WebhookEventType): Endpoint[] {
    return this.all().filter((e) => e.events.includes('*') || e.events.includes(type))
  }

  /** Whether any endpoint wants `type` (cheap: asked on every change). */
  wants (type: WebhookEventType): boolean {
    return this.configured.some((e) => e.events.includes('*') || e.events.includes(type)) ||
      this.added.some((e) => e.events.includes('*') || e.events.includes(type))
  }

  /** The endpoint with this id; an unknown id re-reads the stored list first (another instance may just have added it). */
  async find (id: string): Promise<Endpoint | undefined> {
    const known = this.all().find((e) => e.id === id)
    if (known !== undefined) return known
    await this.refresh()
    return this.all().find((e) => e.id === id)
  }

  /**
   * Read the stored endpoints again (one read at a time). A failure keeps
   * the list as it was; `strict` callers (the admin API) get it.
   */
  refresh (strict = false): Promise<void> {
    this.refreshing ??= this.store.list().then((list) => {
      this.added = list.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''))
      this.loaded = true
      this.markRead()
    }).finally(() => { this.refreshing = null })
    if (strict) return this.refreshing
    return this.refreshing.catch((err: unknown) => {
      // Before the first read this is Redis still connecting (which its connection logs).
      if (this.loaded) this.log.warn({ err }, 'webhooks: reading the admin-added endpoints failed; keeping the last list')
    })
  }
}

/** Admin-added endpoints in memory (an instance whose store is neither Redis nor the embedded one: tests). */
export class MemoryEndpointStore implements EndpointStore {
  private readonly map = new Map<string, Endpoint>()
  async list (): Promise<Endpoint[]> { return [...this.map.values()] }
  async put (endpoint: Endpoint): Promise<void> { this.map.set(endpoint.id, endpoint) }
  async remove (id: string): Promise<boolean> { return this.map.delete(id) }
}

/** Admin-added endpoints in the embedded store's key space (one instance, kept across restarts). */
export class KeySpaceEndpointStore implements EndpointStore {
  constructor (private readonly space: KeySpace) {}

  async list (): Promise<Endpoint[]> {
    const out: Endpoint[] = []
    for await (const [, value] of this.space.entries()) out.push(JSON.parse(new TextDecoder().decode(value)) as Endpoint)
    return out
  }

  async put (endpoint: Endpoint): Promise<void> {
    await this.space.put(endpoint.id, new TextEncoder().encode(JSON.stringify(endpoint)))
  }

  async remove (id: string): Promise<boolean> {
    for await (const [key] of this.space.entries()) {
      if (key !== id) continue
      await this.space.del(id)
      return true
    }
    return false
  }
}
