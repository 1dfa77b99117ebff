/**
 * A bare client of the fallback transport (docs/protocol.md, "The fallback
 * transport") for protocol-level tests: opens the event stream with fetch,
 * reads its events as the page describes them (independently of the
 * browser provider's reader), POSTs frames. Every wait has a deadline (wait.ts).
 */
import { DEADLINE_MS, waitOn, waitUntil, within } from './wait.js'

export interface StreamEvent { event: string, data: string }

export interface RawStream {
  /** The HTTP status and headers of the stream's response. */
  status: number
  headers: Headers
  /** Every event so far, in order. */
  events: StreamEvent[]
  /** The frames (unnamed events, base64-decoded) so far. */
  frames: Uint8Array[]
  /** The session event's content (null until it came, or for a refused stream). */
  session: { session: string, maxBody: number } | null
  /** Resolves with the first frame (already received or future) that matches. */
  next (match: (f: Uint8Array) => boolean, what: string, timeoutMs?: number): Promise<Uint8Array>
  /** Resolves once `holds` is true, re-checked on every event. */
  until (holds: () => boolean, what: string, timeoutMs?: number): Promise<void>
  /** Resolves with the `close` event's code and reason. */
  whenClosed (what: string, timeoutMs?: number): Promise<{ code: number, reason: string }>
  /** Resolves once the response has ended (with or without a close event). */
  whenEnded (what: string, timeoutMs?: number): Promise<void>
  /** POST frames (one base64 line each) to the session; resolves with the response. */
  post (frames: Uint8Array[] | string, headers?: Record<string, string>): Promise<Response>
  /** Drop the stream (as a client that leaves). */
  abort (): void
}

/** `url`: `http://host:port/sync/<doc>?…` */
export async function openStream (url: string, headers: Record<string, string> = {}): Promise<RawStream> {
  const aborter = new AbortController()
  const res = await within(fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: aborter.signal }), DEADLINE_MS, `the stream ${url} to answer`)
  const events: StreamEvent[] = []
  const frames: Uint8Array[] = []
  const listeners = new Set<() => void>()
  let ended = false
  const notify = (): void => { for (const on of listeners) on() }
  const onEvent = (on: () => void): () => void => {
    listeners.add(on)
    return () => listeners.delete(on)
  }
  const stream: RawStream = {
    status: res.status,
    headers: res.headers,
    events,
    frames,
    session: null,
    next: (match, what, timeoutMs = DEADLINE_MS) => waitOn(onEvent, () => frames.find(match), what, timeoutMs),
    until: (holds, what, timeoutMs = DEADLINE_MS) => waitUntil(onEvent, holds, what, timeoutMs),
    whenClosed: (what, timeoutMs = DEADLINE_MS) => waitOn(onEvent, () => {
      const close = events.find((e) => e.event === 'close')
      return close === undefined ? undefined : JSON.parse(close.data) as { code: number, reason: string }
    }, what, timeoutMs),
    whenEnded: (what, timeoutMs = DEADLINE_MS) => waitUntil(onEvent, () => ended, what, timeoutMs),
    post: (body, extra = {}) => {
      const text = typeof body === 'string' ? body : body.map((f) => Buffer.from(f).toString('base64')).join('\n')
      const target = new URL(url)
      target.search = `?session=${encodeURIComponent(stream.session?.session ?? '')}`
      return fetch(target, { method: 'POST', body: text, headers: { 'content-type': 'text/plain', ...extra } })
    },
    abort: () => aborter.abort(),
  }
  void (async () => {
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let end: number
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event: StreamEvent = { event: 'message', data: '' }
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event.event = line.slice(7)
            else if (line.startsWith('data: ')) event.data = line.slice(6)
          }
          events.push(event)
          if (event.event === 'message') frames.push(new Uint8Array(Buffer.from(event.data, 'base64')))
          if (event.event === 'session') stream.session = JSON.parse(event.data) as RawStream['session']
          notify()
        }
      }
    } catch { /* aborted */ }
    ended = true
    notify()
  })()
  return stream
}
