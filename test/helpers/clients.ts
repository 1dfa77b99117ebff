/**
 * Stock y-websocket 3.x clients for tests, exactly as a user would create
 * them (plus the Node WebSocket and no BroadcastChannel, which would let two
 * providers in one process sync without the server).
 */
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

// Every stock provider adds a process 'exit' listener (to clear its
// awareness); tests open hundreds of them.
process.setMaxListeners(0)

export interface TestClient {
  doc: Y.Doc
  provider: WebsocketProvider
  text: Y.Text
  destroy (): void
}

/** `localAddress`: connect from this address (another loopback address, 127.0.0.2…, is another client). */
export function connectClient (wsUrl: string, docName: string, opts: { token?: string, params?: Record<string, string>, doc?: Y.Doc, localAddress?: string } = {}): TestClient {
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

export function whenSynced (client: TestClient): Promise<void> {
  if (client.provider.synced) return Promise.resolve()
  return new Promise((resolve) => {
    const on = (synced: boolean): void => {
      if (!synced) return
      client.provider.off('sync', on)
      resolve()
    }
    client.provider.on('sync', on)
  })
}

/** Resolves when `predicate` holds, re-checking on every change of the doc. */
export function whenDoc (doc: Y.Doc, predicate: () => boolean): Promise<void> {
  if (predicate()) return Promise.resolve()
  return new Promise((resolve) => {
    const on = (): void => {
      if (!predicate()) return
      doc.off('afterTransaction', on)
      resolve()
    }
    doc.on('afterTransaction', on)
  })
}

/** Resolves when `predicate` holds, re-checking on every awareness change. */
export function whenAwareness (client: TestClient, predicate: (states: Map<number, Record<string, unknown>>) => boolean): Promise<void> {
  const aw = client.provider.awareness
  if (predicate(aw.getStates() as Map<number, Record<string, unknown>>)) return Promise.resolve()
  return new Promise((resolve) => {
    const on = (): void => {
      if (!predicate(aw.getStates() as Map<number, Record<string, unknown>>)) return
      aw.off('change', on)
      resolve()
    }
    aw.on('change', on)
  })
}

/** Resolves with the close event of the provider's next close. */
export function whenClosed (client: TestClient): Promise<{ code: number, reason: string }> {
  return new Promise((resolve) => {
    const on = (event: { code: number, reason: string }): void => {
      client.provider.off('connection-close', on as never)
      resolve({ code: event.code, reason: event.reason })
    }
    client.provider.on('connection-close', on as never)
  })
}
