/** The provider's options, events and the values it reports (quire-provider.ts). */
import type * as Y from 'yjs'
import type * as awarenessProtocol from 'y-protocols/awareness'
import type { BackoffOptions } from '@quire/common'
import type { TokenSource, TokenUser } from './token.js'
import type { TransportKind } from './transport.js'

export type ConnectionStatus = 'connecting' | 'connected' | 'offline'
export type Access = 'write' | 'read'
export type { TransportKind }

export interface CloseInfo {
  code: number
  reason: string
}

/**
 * Why the provider emptied its document and dropped its local copy:
 * `forbidden` (the server said the token does not cover it), `signed-out`
 * (signOut() here or in another tab of the same person), `cleared`
 * (clearLocalData()).
 */
export type ClearReason = 'forbidden' | 'signed-out' | 'cleared'

export interface QuireProviderOptions {
  /** Server base URL: `ws://host:port` or `wss://…` (`http(s)://` is accepted too). */
  server: string
  /** Document name, e.g. `team/notes`. */
  doc: string
  ydoc: Y.Doc
  awareness?: awarenessProtocol.Awareness
  /** A fixed token (JWT). */
  token?: string
  /** Asked for a token on every (re)connect and before the current one expires. Wins over `token`. */
  getToken?: TokenSource
  /**
   * With `getToken`: the `sub` its tokens carry, so the offline copy of this
   * person can open before a token is fetched (say, offline). A token for
   * anyone else is then refused here, like a 4401. Default: the first token's `sub`.
   */
  identity?: string
  /** Connect at once (default true). */
  connect?: boolean
  /** Keep the document and unsent edits in IndexedDB, per person (default false; mountEditor turns it on). */
  offline?: boolean
  /** Sync with other tabs of this browser (the same person) over BroadcastChannel (default true). */
  crossTab?: boolean
  /** Reconnect delays (default: 500 ms doubling, capped at 10 s, full jitter). */
  backoff?: Partial<BackoffOptions>
  /** Reconnect when nothing arrived for this long; Quire speaks at least every 10 s (default 30 s). */
  livenessTimeoutMs?: number
  /** Give up on a connection attempt that has not opened after this long (default 10 s). */
  connectTimeoutMs?: number
  /** Fetch a fresh token this long before the current one expires (default 60 s). */
  tokenRefreshMarginMs?: number
  /**
   * When a WebSocket cannot be opened (refused, not open within
   * `webSocketTimeoutMs`, or none in this environment), use the HTTP stream
   * instead, and move back to WebSockets as soon as one opens (default true).
   */
  fallback?: boolean
  /** How long a WebSocket may take to open before the stream is used instead (default 4 s). */
  webSocketTimeoutMs?: number
  /** While on the stream, WebSockets are tried again after these delays (default: 2 s doubling, capped at 60 s). */
  probeBackoff?: Partial<BackoffOptions>
  /** WebSocket implementation (for Node); defaults to the global one. */
  WebSocket?: typeof WebSocket
  /** fetch implementation for the stream; defaults to the global one. */
  fetch?: typeof fetch
}

export interface ProviderEvents {
  status: (status: ConnectionStatus) => void
  saved: (saved: boolean) => void
  synced: (synced: boolean) => void
  access: (access: Access) => void
  /** What carries the connection now, once it is open (null: none open). */
  transport: (transport: TransportKind | null) => void
  /** Every connection that ends (or attempt that fails). */
  'connection-close': (info: CloseInfo & { willReconnect: boolean }) => void
  /** The server refused for good (4400–4499): the provider will not reconnect by itself. */
  stopped: (info: CloseInfo) => void
  /** The document was emptied and its local copy dropped; the provider is done (see ClearReason). */
  cleared: (reason: ClearReason) => void
  /** The token in use says who we are (or null: no token). */
  'token-user': (user: TokenUser | null) => void
}

/** The reason of the 4401 this provider closes with itself when a token is for someone else than the first one. */
export const FOREIGN_TOKEN = 'the token is for another user than this editor'
