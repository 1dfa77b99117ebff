/**
 * The fallback transport (docs/protocol.md, "The fallback transport"): the
 * server's frames come down one long `fetch` of an event stream, ours go up
 * as POSTs, one base64 line per frame. Frames sent in the same tick go in one
 * POST; POSTs go one at a time, in order (what is sent meanwhile waits and
 * goes in the next). A POST that fails ends the transport (the provider
 * reconnects and re-sends what was not acknowledged, as after any close).
 */
import { fromBase64, toBase64 } from 'lib0/buffer'
import { STREAM_EVENT, STREAM_SESSION_PARAM, type StreamClose, type StreamSession } from '@quire/common'
import { SseReader } from './sse-reader.js'
import { ABNORMAL_CLOSURE, type Transport, type TransportHandlers } from './transport.js'

export class StreamTransport implements Transport {
  readonly kind = 'stream'
  private readonly aborter = new AbortController()
  private session: StreamSession | null = null
  /** The server answered: a session, or a refusal. */
  private reached = false
  private done = false
  /** Frames waiting for a POST, as base64 lines. */
  private queue: string[] = []
  private posting = false
  private flushQueued = false

  /** `url`: the stream's URL, `http(s)://host/sync/<doc>?…` */
  constructor (private readonly fetchImpl: typeof fetch, private readonly url: string, private readonly handlers: TransportHandlers) {
    void this.read()
  }

  get isOpen (): boolean {
    return !this.done && this.session !== null
  }

  send (frame: Uint8Array): void {
    if (!this.isOpen) return
    this.queue.push(toBase64(frame))
    if (this.posting || this.flushQueued) return
    // Everything sent in this tick goes in one POST.
    this.flushQueued = true
    queueMicrotask(() => {
      this.flushQueued = false
      void this.flush()
    })
  }

  abandon (): void {
    this.done = true
    this.aborter.abort()
  }

  private async read (): Promise<void> {
    let body: ReadableStreamDefaultReader<Uint8Array>
    try {
      const res = await this.fetchImpl(this.url, { headers: { accept: 'text/event-stream' }, cache: 'no-store', signal: this.aborter.signal })
      if (!res.ok || res.body === null) return this.end(ABNORMAL_CLOSURE, `stream answered ${res.status}`)
      // A proxy's own page (a sign-in form, say) is not the server's stream.
      if (!res.headers.get('content-type')?.startsWith('text/event-stream')) return this.end(ABNORMAL_CLOSURE, 'not an event stream')
      body = res.body.getReader()
    } catch {
      return this.end(ABNORMAL_CLOSURE, 'stream failed')
    }
    const decoder = new TextDecoder()
    const reader = new SseReader((event, data) => this.onEvent(event, data))
    try {
      for (;;) {
        const { value, done } = await body.read()
        if (this.done) return
        if (done) break
        reader.push(decoder.decode(value, { stream: true }))
      }
    } catch { /* broken: ended below */ }
    this.end(ABNORMAL_CLOSURE, 'stream ended')
  }

  private onEvent (event: string, data: string): void {
    if (this.done) return
    try {
      if (event === STREAM_EVENT.session) {
        this.session = JSON.parse(data) as StreamSession
        this.reached = true
        this.handlers.open()
      } else if (event === STREAM_EVENT.close) {
        const close = JSON.parse(data) as StreamClose
        this.reached = true
        this.end(close.code, close.reason)
      } else if (event === 'message' && this.session !== null) {
        this.handlers.message(fromBase64(data))
      }
    } catch (err) {
      console.warn('quire: ignored a malformed event from the server', err)
    }
  }

  /** POST what is queued (up to the server's largest body; one frame always goes), then whatever came meanwhile. */
  private async flush (): Promise<void> {
    const session = this.session
    if (this.posting || this.done || session === null || this.queue.length === 0) return
    let size = 0
    let count = 0
    while (count < this.queue.length && (count === 0 || size + this.queue[count].length + 1 <= session.maxBody)) {
      size += this.queue[count].length + 1
      count++
    }
    const lines = this.queue.splice(0, count)
    this.posting = true
    const target = new URL(this.url)
    target.search = `?${STREAM_SESSION_PARAM}=${encodeURIComponent(session.session)}`
    try {
      // text/plain keeps the request "simple": no CORS preflight from another origin.
      const res = await this.fetchImpl(target, {
        method: 'POST',
        body: lines.join('\n'),
        headers: { 'content-type': 'text/plain' },
        cache: 'no-store',
        signal: this.aborter.signal,
      })
      if (this.done) return
      if (res.status === 410) {
        // The session closed while reading it: the same close the stream carries.
        const close = await res.json() as StreamClose
        return this.end(close.code, close.reason)
      }
      if (!res.ok) return this.end(ABNORMAL_CLOSURE, `POST answered ${res.status}`)
    } catch {
      return this.end(ABNORMAL_CLOSURE, 'POST failed')
    }
    this.posting = false
    void this.flush()
  }

  private end (code: number, reason: string): void {
    if (this.done) return
    this.done = true
    this.aborter.abort()
    this.handlers.close(code, reason, this.reached)
  }
}
