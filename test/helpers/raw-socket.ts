/** A bare WebSocket for protocol-level tests: send frames, await frames or the close. */
import WebSocket from 'ws'

export interface RawSocket {
  ws: WebSocket
  frames: Uint8Array[]
  closed: Promise<{ code: number, reason: string }>
  /** Resolves with the first frame (already received or future) that matches. */
  next (match?: (f: Uint8Array) => boolean): Promise<Uint8Array>
  send (frame: Uint8Array | string): void
}

/** `options`: ws's client options, e.g. `localAddress` to connect from another loopback address. */
export function openRaw (url: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<RawSocket> {
  const ws = new WebSocket(url, { ...options, headers })
  const frames: Uint8Array[] = []
  const waiters: Array<{ match: (f: Uint8Array) => boolean, resolve: (f: Uint8Array) => void }> = []
  ws.on('message', (data: Buffer) => {
    const f = new Uint8Array(data)
    frames.push(f)
    for (const w of [...waiters]) {
      if (w.match(f)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(f)
      }
    }
  })
  const closed = new Promise<{ code: number, reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
  })
  const sock: RawSocket = {
    ws,
    frames,
    closed,
    next: (match = () => true) => {
      const found = frames.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve) => waiters.push({ match, resolve }))
    },
    send: (frame) => ws.send(frame),
  }
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve(sock))
    ws.on('error', reject)
    // A refused upgrade still opens, then closes with a code.
  })
}
