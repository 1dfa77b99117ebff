/**
 * Which transport a connection uses (docs/editor.md, "Connection"). A
 * connection attempt starts with a WebSocket; when that cannot be opened —
 * refused (a proxy answering the upgrade with an error), not open within
 * `webSocketTimeoutMs`, or no WebSocket in this environment — the same
 * attempt goes on over the fallback stream. Once the stream is in use, later
 * attempts start with it, while `probe()` keeps trying WebSockets in the
 * background; the provider moves back to the first one that answers.
 */
import { StreamTransport } from './stream-transport.js'
import { ABNORMAL_CLOSURE, type Transport, type TransportHandlers, type TransportKind, type TransportTarget } from './transport.js'
import { WebSocketTransport } from './websocket-transport.js'

export interface ConnectorOptions {
  /** The WebSocket implementation; undefined when there is none (the stream is then the only way). */
  WebSocket: typeof WebSocket | undefined
  /** The fetch implementation for the stream; undefined: no fallback. */
  fetch: typeof fetch | undefined
  /** Fall back to the stream when a WebSocket cannot be opened. */
  fallback: boolean
  /** How long a WebSocket may take to open before the stream is tried instead. */
  webSocketTimeoutMs: number
}

export class Connector {
  /** What the next attempt starts with. */
  private preferred: TransportKind

  constructor (private readonly opts: ConnectorOptions) {
    if (!opts.WebSocket && !this.canStream) throw new Error('QuireProvider: no WebSocket implementation (pass options.WebSocket)')
    this.preferred = opts.WebSocket ? 'websocket' : 'stream'
  }

  /** The stream can be used here: allowed, and fetch exists. */
  private get canStream (): boolean {
    return this.opts.fallback && this.opts.fetch !== undefined
  }

  /** Whether WebSockets are worth probing for: the stream is in use and WebSockets exist here. */
  get probing (): boolean {
    return this.preferred === 'stream' && this.opts.WebSocket !== undefined
  }

  /** A connection attempt: a WebSocket that falls back to the stream, or the stream at once when that is what works. */
  connect (target: TransportTarget, handlers: TransportHandlers): Transport {
    if (this.preferred === 'stream') return this.stream(target, handlers, true)
    return new FallbackAttempt(this, target, handlers, this.canStream ? this.opts.webSocketTimeoutMs : null)
  }

  /** A WebSocket alone, to see whether one opens now; the provider takes it over once it hears from the server. */
  probe (target: TransportTarget, handlers: TransportHandlers): Transport {
    return new WebSocketTransport(this.opts.WebSocket!, target.webSocketUrl, handlers)
  }

  /** A WebSocket answered (opened, or a probe was taken over): attempts start with WebSockets again. */
  webSocketWorks (): void {
    this.preferred = 'websocket'
  }

  /** An attempt got no answer in time (the link gave up on it): the next one starts with a WebSocket again, if there are any. */
  attemptTimedOut (): void {
    if (this.opts.WebSocket) this.preferred = 'websocket'
  }

  /** @internal The WebSocket of a `FallbackAttempt`. */
  webSocket (target: TransportTarget, handlers: TransportHandlers): WebSocketTransport {
    return new WebSocketTransport(this.opts.WebSocket!, target.webSocketUrl, handlers)
  }

  /** @internal The stream; `fromStart`: what it reaches (or not) decides what the next attempt starts with. */
  stream (target: TransportTarget, handlers: TransportHandlers, fromStart: boolean): StreamTransport {
    const fetchImpl = this.opts.fetch!
    return new StreamTransport((input, init) => fetchImpl(input, init), target.streamUrl, {
      open: () => {
        this.preferred = 'stream'
        handlers.open()
      },
      message: handlers.message,
      close: (code, reason, reached) => {
        // A stream that does not get through either: the server is away, not the WebSocket blocked.
        if (!reached && fromStart && this.opts.WebSocket) this.preferred = 'websocket'
        handlers.close(code, reason, reached)
      },
    })
  }
}

/** One attempt: a WebSocket first; if it cannot be opened, the stream. */
class FallbackAttempt implements Transport {
  private current: Transport
  private timer: ReturnType<typeof setTimeout> | null = null
  private done = false

  /** `timeoutMs`: how long the WebSocket may take to open; null: no fallback, it takes as long as it takes. */
  constructor (private readonly connector: Connector, private readonly target: TransportTarget, private readonly handlers: TransportHandlers, timeoutMs: number | null) {
    this.current = connector.webSocket(target, {
      open: () => {
        this.clearTimer()
        connector.webSocketWorks()
        handlers.open()
      },
      message: handlers.message,
      close: (code, reason, reached) => {
        this.clearTimer()
        if (reached || timeoutMs === null) return this.end(code, reason, reached)
        this.fallBack('the WebSocket was refused')
      },
    })
    if (timeoutMs !== null) {
      this.timer = setTimeout(() => {
        this.timer = null
        this.current.abandon('no answer')
        this.fallBack('the WebSocket did not open in time')
      }, timeoutMs)
    }
  }

  get kind (): TransportKind { return this.current.kind }
  get isOpen (): boolean { return !this.done && this.current.isOpen }

  send (frame: Uint8Array): void {
    this.current.send(frame)
  }

  abandon (reason: string): void {
    this.done = true
    this.clearTimer()
    this.current.abandon(reason)
  }

  private fallBack (why: string): void {
    if (this.done) return
    console.info(`quire: ${why}; using the HTTP stream instead`)
    this.current = this.connector.stream(this.target, {
      open: this.handlers.open,
      message: this.handlers.message,
      close: (code, reason, reached) => this.end(code, reason, reached),
    }, false)
  }

  private end (code: number, reason: string, reached: boolean): void {
    if (this.done) return
    this.done = true
    this.handlers.close(code, reason || (code === ABNORMAL_CLOSURE ? 'connection failed' : ''), reached)
  }

  private clearTimer (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}
