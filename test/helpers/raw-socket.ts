/** A bare WebSocket for protocol-level tests: send frames, await frames or the close (each with a deadline, see wait.ts). */
import WebSocket from 'ws'
import { DEADLINE_MS, waitOn, waitUntil, within } from './wait.js'

export interface RawSocket {
  ws: WebSocket
  frames: Uint8Array[]
  /** Resolves with the server's close (code, reason). */
  whenClosed (what: string, timeoutMs?: number): Promise<{ code: number, reason: string }>
  /** Resolves with the first frame (already received or future) that matches. */
  next (match: (f: Uint8Array) => boolean, what: string, timeoutMs?: number): Promise<Uint8Array>
  /** Resolves once `holds` is true, re-checked on every frame. */
  until (holds: () => boolean, what: string, timeoutMs?: number): Promise<void>
  send (frame: Uint8Array | string): void
}

/** Any frame, for `next`. */
export const anyFrame = (): boolean => true

/** `options`: ws's client options, e.g. `localAddress` to connect from another loopback address. */
export function openRaw (url: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<RawSocket> {
  const ws = new WebSocket(url, { ...options, headers })
  const frames: Uint8Array[] = []
  ws.on('message', (data: Buffer) => { frames.push(new Uint8Array(data)) })
  const closed = new Promise<{ code: number, reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
  })
  const onFrame = (on: () => void): () => void => {
    ws.on('message', on)
    return () => ws.off('message', on)
  }
  const sock: RawSocket = {
    ws,
    frames,
    whenClosed: (what, timeoutMs = DEADLINE_MS) => within(closed, timeoutMs, what),
    next: (match, what, timeoutMs = DEADLINE_MS) => waitOn(onFrame, () => frames.find(match), what, timeoutMs),
    until: (holds, what, timeoutMs = DEADLINE_MS) => waitUntil(onFrame, holds, what, timeoutMs),
    send: (frame) => ws.send(frame),
  }
  // A refused upgrade still opens, then closes with a code.
  return within(new Promise((resolve, reject) => {
    ws.on('open', () => resolve(sock))
    ws.on('error', reject)
  }), DEADLINE_MS, `a WebSocket to ${url} to open`)
}
