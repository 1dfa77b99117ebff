/**
 * Stock y-websocket 3.x clients, exactly as a user would create them (plus
 * the Node WebSocket and no BroadcastChannel, which would let two providers
 * in one process sync without the server), and a bounded wait on their
 * events.
 */
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

// Every stock provider adds a process 'exit' listener (to clear its
// awareness); tests open hundreds of them.
process.setMaxListeners(0)

export interface StockClient {
  doc: Y.Doc
  provider: WebsocketProvider
  text: Y.Text
  destroy (): void
}

/** `localAddress`: connect from this address (another loopback address, 127.0.0.2…, is another client). */
export function connectClient (wsUrl: string, docName: string, opts: { token?: string, params?: Record<string, string>, doc?: Y.Doc, localAddress?: string } = {}): StockClient {
  const doc = opts.doc ?? new Y.Doc()
  const params: Record<string, string> = { ...opts.params }
  if (opts.token) params.token = opts.token
  const { localAddress } = opts
  const Socket = localAddress === undefined ? WebSocket : class extends WebSocket {
    constructor (url: string, protocols?: string | string[]) { super(url, protocols, { localAddress }) }
  }
  const provider = new WebsocketProvider(wsUrl, docName, doc, {
    WebSocketPolyfill: Socket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params,
  })
  return { doc, provider, text: doc.getText('t'), destroy: () => { provider.destroy(); doc.destroy() } }
}

/** Anything with lib0's on/off (providers, awareness, Y.Doc). */
interface Emitter {
  on (event: string, listener: () => void): void
  off (event: string, listener: () => void): void
}

/**
 * Resolves once `holds()` is true, checking now and on every `event` of
 * `emitter`; rejects naming `what` after `timeoutMs`.
 */
export function whenEvent (emitter: object, event: string, holds: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  if (holds()) return Promise.resolve()
  const e = emitter as Emitter
  return new Promise((resolve, reject) => {
    const on = (): void => {
      if (!holds()) return
      done()
      resolve()
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
    }, timeoutMs)
    const done = (): void => {
      clearTimeout(timer)
      e.off(event, on)
    }
    e.on(event, on)
  })
}
