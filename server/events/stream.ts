/**
 * One event stream: a `text/event-stream` response (docs/events.md,
 * "Format"). Each event is `id:`, `event:` and one `data:` line of JSON; a
 * `retry:` hint opens the stream; `: ping` comments keep it alive. A client
 * that does not read is not buffered for without end: with more than
 * EVENTS_MAX_BACKLOG_BYTES unsent when an event is due, or when its socket has not drained for
 * two heartbeats, the stream is closed (its EventSource reconnects, and
 * catches up with Last-Event-ID or a reset).
 */
import type { ServerResponse } from 'node:http'
import type { EventListener, DocSnapshot } from './hub.js'
import type { LiveEvent } from './ring.js'

/** The reconnect delay EventSource is told to use. */
export const RETRY_MS = 2_000

export const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store, no-transform',
  // nginx and others buffer responses unless told not to: events would arrive in lumps.
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
}

export interface StreamOptions {
  wants: (doc: string) => boolean
  maxBacklogBytes: number
  /** The socket did not keep up (`close` follows). */
  tooSlow: () => void
}

export class EventStream implements EventListener {
  private closed = false
  /** Since when a write has been waiting for the socket to drain, or null. */
  private stalledSince: number | null = null

  constructor (private readonly res: ServerResponse, private readonly opts: StreamOptions) {
    res.on('drain', () => { this.stalledSince = null })
    res.on('close', () => { this.closed = true })
  }

  get isClosed (): boolean { return this.closed }

  wants (doc: string): boolean { return this.opts.wants(doc) }

  /** Status line, headers and the retry hint. */
  open (): void {
    this.res.writeHead(200, STREAM_HEADERS)
    this.write(`retry: ${RETRY_MS}\n\n`)
  }

  send (event: LiveEvent, id: string): void {
    this.write(`id: ${id}\nevent: ${event.type}\ndata: ${event.data}\n\n`)
  }

  /** The whole state of the stream's documents, standing at event `id`. */
  reset (id: string, docs: DocSnapshot[]): void {
    this.write(`id: ${id}\nevent: reset\ndata: ${JSON.stringify({ docs })}\n\n`)
  }

  /** Heartbeat; closes a stream whose socket has not drained for `stallMs`. */
  ping (now: number, stallMs: number): void {
    if (this.stalledSince !== null && now - this.stalledSince > stallMs) return this.tooSlow()
    this.write(': ping\n\n')
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.res.end()
  }

  private write (text: string): void {
    if (this.closed) return
    // Checked before writing: a client that has caught up can always be sent one more event, however big.
    if (this.res.writableLength > this.opts.maxBacklogBytes) return this.tooSlow()
    if (!this.res.write(text)) this.stalledSince ??= Date.now()
  }

  private tooSlow (): void {
    if (this.closed) return
    this.closed = true
    this.opts.tooSlow()
    // Whatever is still queued would only be late: cut the connection.
    this.res.destroy()
  }
}
