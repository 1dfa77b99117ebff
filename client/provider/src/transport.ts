/**
 * What carries the provider's frames (docs/editor.md, "Connection"): a
 * WebSocket (websocket-transport.ts) or, where a network refuses
 * WebSockets, the fallback stream (stream-transport.ts). Both carry the
 * same y-protocols frames, one message each, and end with a close code; the
 * provider does not care which one it holds.
 */

export type TransportKind = 'websocket' | 'stream'

/** What a transport tells its owner. It never calls these from its constructor, nor after `abandon()`. */
export interface TransportHandlers {
  /** Open: frames may be sent now. */
  open (): void
  /** One frame from the server. */
  message (frame: Uint8Array): void
  /**
   * Ended, with the server's close code, or ABNORMAL_CLOSURE when it broke.
   * `reached`: the server answered at all (it opened, or sent its refusal);
   * false when the network never got through (a proxy refused the upgrade,
   * nothing listens, the attempt timed out).
   */
  close (code: number, reason: string, reached: boolean): void
}

export interface Transport {
  readonly kind: TransportKind
  /** Open and not ended: `send` goes out. */
  readonly isOpen: boolean
  /** Send one frame; dropped unless open. */
  send (frame: Uint8Array): void
  /** Drop it now, without waiting for anything; no handler is called any more. */
  abandon (reason: string): void
}

/** Where a connection goes: both transports' URLs, the token in their query. */
export interface TransportTarget {
  /** `ws(s)://host:port/<doc>?ack=1[&token=…]` */
  webSocketUrl: string
  /** `http(s)://host:port/sync/<doc>?ack=1[&token=…]` */
  streamUrl: string
}

/** A connection closed by us, for no fault (RFC 6455). */
export const NORMAL_CLOSURE = 1000
/** A connection that broke, or never opened (RFC 6455: never sent by a server). */
export const ABNORMAL_CLOSURE = 1006
