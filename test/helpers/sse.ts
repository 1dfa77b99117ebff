/**
 * A live event stream read as a client would (Node's fetch, the body as a
 * byte stream), parsed by the text/event-stream rules: `id:`, `event:`,
 * `data:` fields, `retry:`, comments (`: ping`), blank line ends an event.
 * Every wait has a deadline and names what it waited for.
 */
import { DEADLINE_MS, waitOn } from './wait.js'

export interface SseEvent {
  id: string | null
  event: string
  data: string
  /** Parsed `data` (JSON; null when it is not): read as the test expects it to be. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any
  /** When it arrived (performance.now()). */
  receivedAt: number
}

export interface SseStream {
  status: number
  headers: Headers
  /** Events so far, in order. */
  events: SseEvent[]
  /** Comment lines (without the colon) and when they came. */
  comments: Array<{ text: string, at: number }>
  /** The last `retry:` value. */
  retry: number | null
  /** The body of a refused request (status not 200). */
  body: string
  /** Whether the server ended the stream. */
  ended: boolean
  /** The first event (already here or to come) after index `from` that `match` takes. */
  next (match: (e: SseEvent) => boolean, what: string, opts?: { from?: number, timeoutMs?: number }): Promise<SseEvent>
  /** Resolves once the server ended the stream. */
  whenEnded (what: string, timeoutMs?: number): Promise<void>
  /** Resolves once `n` comments arrived. */
  whenComments (n: number, what: string, timeoutMs?: number): Promise<void>
  close (): void
}

export async function openStream (url: string, init: { headers?: Record<string, string> } = {}): Promise<SseStream> {
  const abort = new AbortController()
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...init.headers }, signal: abort.signal })
  const listeners = new Set<() => void>()
  const changed = (): void => { for (const l of [...listeners]) l() }
  const listen = (on: () => void): () => void => {
    listeners.add(on)
    return () => listeners.delete(on)
  }
  const stream: SseStream = {
    status: res.status,
    headers: res.headers,
    events: [],
    comments: [],
    retry: null,
    body: '',
    ended: false,
    next: (match, what, opts = {}) => waitOn(listen, () => stream.events.slice(opts.from ?? 0).find(match), what, opts.timeoutMs ?? DEADLINE_MS),
    whenEnded: async (what, timeoutMs = DEADLINE_MS) => { await waitOn(listen, () => stream.ended || undefined, what, timeoutMs) },
    whenComments: async (n, what, timeoutMs = DEADLINE_MS) => { await waitOn(listen, () => stream.comments.length >= n || undefined, what, timeoutMs) },
    close: () => abort.abort(),
  }
  if (res.status !== 200 || res.body === null) {
    stream.body = await res.text()
    stream.ended = true
    return stream
  }
  const decoder = new TextDecoder()
  let buffer = ''
  let fields: { id: string | null, event: string, data: string[] } = { id: null, event: 'message', data: [] }
  const line = (text: string): void => {
    if (text === '') {
      if (fields.data.length > 0) {
        const data = fields.data.join('\n')
        let json: unknown = null
        try { json = JSON.parse(data) } catch { /* not JSON: left null */ }
        stream.events.push({ id: fields.id, event: fields.event, data, json, receivedAt: performance.now() })
      }
      fields = { id: null, event: 'message', data: [] }
      return
    }
    if (text.startsWith(':')) {
      stream.comments.push({ text: text.slice(1).trim(), at: performance.now() })
      return
    }
    const colon = text.indexOf(':')
    const name = colon < 0 ? text : text.slice(0, colon)
    const value = colon < 0 ? '' : text.slice(colon + 1).replace(/^ /, '')
    if (name === 'id') fields.id = value
    else if (name === 'event') fields.event = value
    else if (name === 'data') fields.data.push(value)
    else if (name === 'retry') stream.retry = Number(value)
  }
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let eol: number
        while ((eol = buffer.indexOf('\n')) >= 0) {
          line(buffer.slice(0, eol).replace(/\r$/, ''))
          buffer = buffer.slice(eol + 1)
        }
        changed()
      }
    } catch { /* aborted by close() or cut by the server */ }
    stream.ended = true
    changed()
  })()
  return stream
}
