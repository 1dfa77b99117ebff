/** The WebSocket transport: one socket, binary frames, the close code as the server sent it. */
import { ABNORMAL_CLOSURE, NORMAL_CLOSURE, type Transport, type TransportHandlers } from './transport.js'

export class WebSocketTransport implements Transport {
  readonly kind = 'websocket'
  private ws: WebSocket | null = null
  private opened = false
  private done = false

  constructor (WS: typeof WebSocket, url: string, private readonly handlers: TransportHandlers) {
    try {
      const ws = new WS(url)
      ws.binaryType = 'arraybuffer'
      ws.onopen = () => {
        this.opened = true
        handlers.open()
      }
      ws.onmessage = (event: MessageEvent) => {
        if (event.data instanceof ArrayBuffer) handlers.message(new Uint8Array(event.data))
      }
      ws.onclose = (event: CloseEvent) => this.end(event.code, event.reason)
      ws.onerror = () => { /* a close event follows */ }
      this.ws = ws
    } catch (err) {
      // A URL the browser refuses, say: the same as a socket that never opened, told later.
      console.warn('quire: cannot open a WebSocket', err)
      queueMicrotask(() => this.end(ABNORMAL_CLOSURE, 'cannot open a WebSocket'))
    }
  }

  get isOpen (): boolean {
    return !this.done && this.opened && this.ws?.readyState === 1
  }

  send (frame: Uint8Array): void {
    if (this.isOpen) this.ws!.send(frame)
  }

  abandon (reason: string): void {
    if (this.done) return
    this.done = true
    this.detach(reason)
  }

  private end (code: number, reason: string): void {
    if (this.done) return
    this.done = true
    this.detach(reason)
    this.handlers.close(code, reason, this.opened)
  }

  private detach (reason: string): void {
    const ws = this.ws
    if (!ws) return
    ws.onopen = ws.onmessage = ws.onclose = null
    // Closing a socket that is still connecting reports an error (Node's ws throws it when nobody listens).
    ws.onerror = () => {}
    try {
      ws.close(NORMAL_CLOSURE, reason)
    } catch { /* already closing */ }
  }
}
