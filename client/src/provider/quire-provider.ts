/**
 * Quire's client provider: a Y.Doc and its awareness kept in sync with a
 * Quire server (or any y-websocket compatible server) over one WebSocket.
 *
 * Beyond what y-websocket does, it:
 * - asks for acknowledgements (`?ack=1`) and reports whether every local
 *   change is durable on the server (`saved`);
 * - reconnects with capped exponential backoff and full jitter, reset only
 *   after a connection that synced; at once when the browser comes back
 *   online or a hidden tab becomes visible; never sooner than a server's
 *   retry-after hint (retry-after.ts);
 * - asks a token callback on every (re)connect and again before the token
 *   expires, so a long session never meets its 4401;
 * - stops for good on a 44xx close and says why (`stoppedBy`, `stopped`);
 * - learns read-only access from the server (`access`);
 * - sends only its own awareness (no O(N²) echo of everyone's renewals);
 * - keeps the offline copy (IndexedDB) and talks to other tabs per person:
 *   both are keyed by the token's `sub`, the server and the document
 *   (local-keys.ts), opened before the first connection;
 * - forgets a document it lost access to (4403: the copy is deleted and
 *   the Y.Doc emptied here only), and signs out (`signOut()`: every copy of
 *   this person on this server, in every tab).
 */
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { ObservableV2 } from 'lib0/observable'
import * as syncProtocol from 'y-protocols/sync'
import * as authProtocol from 'y-protocols/auth'
import * as awarenessProtocol from 'y-protocols/awareness'
import {
  encodeAwareness, encodeSyncStep1, encodeUpdate, MESSAGE_AUTH, MESSAGE_AWARENESS, MESSAGE_QUERY_AWARENESS,
  MESSAGE_QUIRE_ACK, MESSAGE_QUIRE_SESSION, MESSAGE_SYNC, SYNC_STEP1, SYNC_STEP2,
} from '../../../common/messages.js'
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from '../../../common/backoff.js'
import { CLOSE, CLOSE_REASONS, retryBand } from '../../../common/close-codes.js'
import { tokenExpiry, tokenUser, type TokenSource, type TokenUser } from './token.js'
import { SavedState } from './saved-state.js'
import { CrossTab } from './cross-tab.js'
import { identityOf, identityOfSub, localKeys, type LocalIdentity, type LocalKeys } from './local-keys.js'
import { LocalCopy } from './local-copy.js'
import { SIGNED_OUT, signOutIdentity } from './sign-out.js'
import { toWebSocketBase } from './server-url.js'
import { RetryAfter } from './retry-after.js'

export type ConnectionStatus = 'connecting' | 'connected' | 'offline'
export type Access = 'write' | 'read'

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
  /** WebSocket implementation (for Node); defaults to the global one. */
  WebSocket?: typeof WebSocket
}

export interface ProviderEvents {
  status: (status: ConnectionStatus) => void
  saved: (saved: boolean) => void
  synced: (synced: boolean) => void
  access: (access: Access) => void
  /** Every connection that ends (or attempt that fails). */
  'connection-close': (info: CloseInfo & { willReconnect: boolean }) => void
  /** The server refused for good (4400–4499): the provider will not reconnect by itself. */
  stopped: (info: CloseInfo) => void
  /** The document was emptied and its local copy dropped; the provider is done (see ClearReason). */
  cleared: (reason: ClearReason) => void
  /** The token in use says who we are (or null: no token). */
  'token-user': (user: TokenUser | null) => void
}

const CHECK_INTERVAL_MS = 1000
const MAX_TIMER_MS = 2 ** 31 - 1
/** The close reason of a 4403 for a token that does not cover the document (any other 4403, e.g. a refused origin, keeps the copy). */
const NOT_COVERED = CLOSE_REASONS[CLOSE.forbidden]
/** The reason of the 4401 this provider closes with itself when a token is for someone else than the first one. */
export const FOREIGN_TOKEN = 'the token is for another user than this editor'

export class QuireProvider extends ObservableV2<ProviderEvents> {
  readonly ydoc: Y.Doc
  readonly awareness: awarenessProtocol.Awareness
  readonly doc: string
  /** The server's WebSocket base URL (`ws://host:port`). */
  readonly server: string
  /** The WebSocket URL without its query. */
  readonly url: string
  status: ConnectionStatus = 'connecting'
  /** The server answered our sync step 1 on the current connection. */
  synced = false
  access: Access = 'write'
  /** Set when the server closed with a 44xx code; cleared by connect(). */
  stoppedBy: CloseInfo | null = null
  /** Set once the document is emptied and its local copy dropped: the provider never connects again. */
  cleared: ClearReason | null = null
  /** Who the token in use says we are; null without a token (or before getToken first answered). */
  tokenUser: TokenUser | null = null

  private readonly opts: QuireProviderOptions
  private readonly backoff: BackoffOptions
  private readonly WS: typeof WebSocket
  private readonly savedState: SavedState
  /** Who this provider is for, once known (bound once, for its lifetime). */
  private keys: LocalKeys | null = null
  private identity: LocalIdentity | null = null
  /** Resolves once the local copy is loaded (or there is none). */
  private binding: Promise<void> | null = null
  private localCopy: LocalCopy | null = null
  private crossTab: CrossTab | null = null
  private scopeChannel: BroadcastChannel | null = null
  private destroyed = false
  private ws: WebSocket | null = null
  private opened = false
  private opening = false
  private shouldConnect = false
  private attempt = 0
  /** Bumped whenever a pending open must be forgotten. */
  private generation = 0
  private authRetried = false
  private lastHeardAt = 0
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private refreshTimer: ReturnType<typeof setTimeout> | null = null
  private checkTimer: ReturnType<typeof setInterval> | null = null
  private hiddenState: Record<string, unknown> | null = null
  private readonly retryAfter = new RetryAfter()
  private readonly unlisten: Array<() => void> = []

  constructor (opts: QuireProviderOptions) {
    super()
    this.opts = opts
    this.ydoc = opts.ydoc
    this.doc = opts.doc
    this.awareness = opts.awareness ?? new awarenessProtocol.Awareness(opts.ydoc)
    this.server = toWebSocketBase(opts.server)
    this.url = `${this.server}/${opts.doc.split('/').map(encodeURIComponent).join('/')}`
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff }
    const WS = opts.WebSocket ?? globalThis.WebSocket
    if (!WS) throw new Error('QuireProvider: no WebSocket implementation (pass options.WebSocket)')
    this.WS = WS
    this.savedState = new SavedState((saved) => this.emit('saved', [saved]))
    this.ydoc.on('update', this.onDocUpdate)
    this.awareness.on('update', this.onAwarenessUpdate)
    this.listenToPage()
    // Who we are, when known without asking getToken: open the local copy now, online or not.
    if (opts.identity) void this.bind(identityOfSub(opts.identity))
    else if (!opts.getToken) {
      void this.bind(identityOf(opts.token))
      this.setTokenUser(opts.token ?? null)
    }
    if (opts.connect !== false) this.connect()
  }

  /** True when every local change is stored on the server. */
  get saved (): boolean {
    return this.savedState.saved
  }

  /** The IndexedDB database of this document for this person (null until known, or without an offline copy). */
  get localDatabase (): string | null {
    return this.opts.offline && this.keys ? this.keys.database : null
  }

  /** Resolves once the offline copy is loaded into the Y.Doc (at once without one). */
  get whenLoaded (): Promise<void> {
    return this.binding ?? Promise.resolve()
  }

  /** Start (or resume after disconnect() or a 44xx close) connecting. Does nothing once cleared. */
  connect (): void {
    if (this.cleared !== null || this.destroyed) return
    this.shouldConnect = true
    this.stoppedBy = null
    this.authRetried = false
    if (this.ws === null && !this.opening) {
      if (this.status !== 'offline') this.setStatus('connecting')
      this.open()
    }
  }

  /** Close the connection and stay disconnected until connect(). */
  disconnect (): void {
    this.shouldConnect = false
    this.generation++
    this.opening = false
    this.clearTimer('reconnectTimer')
    if (this.ws) this.abandon(1000, 'disconnected by the app')
    else this.setStatus('offline')
  }

  /**
   * Forget this document for this person here: disconnect, stop talking to
   * other tabs, delete its local copy (unsent edits included) and empty the
   * Y.Doc (locally only: nothing of that reaches the server or other tabs).
   * The provider never connects again; make a new one.
   */
  async clearLocalData (): Promise<void> {
    const copy = this.localCopy
    this.forget('cleared')
    await copy?.delete()
  }

  /**
   * Sign this person out of this server in this browser: clearLocalData()
   * for every document they have a copy of here, in every tab (their other
   * tabs are told to empty their editors too). Resolves once the copies are
   * deleted; returns their database names.
   */
  async signOut (): Promise<string[]> {
    const identity = this.identity ?? await this.resolveToken().then(identityOf, () => null)
    const copy = this.localCopy
    this.forget('signed-out')
    await copy?.close()
    return identity === null ? [] : signOutIdentity(this.server, identity)
  }

  override destroy (): void {
    this.destroyed = true
    this.disconnect()
    if (this.crossTab) awarenessProtocol.removeAwarenessStates(this.awareness, [this.ydoc.clientID], 'provider destroyed')
    this.closeLocal()
    for (const off of this.unlisten) off()
    this.ydoc.off('update', this.onDocUpdate)
    this.awareness.off('update', this.onAwarenessUpdate)
    if (!this.opts.awareness) this.awareness.destroy()
    super.destroy()
  }

  // ---- connecting ---------------------------------------------------------

  private open (token?: string | null): void {
    this.clearTimer('reconnectTimer')
    if (!this.shouldConnect || this.ws !== null || this.opening) return
    if (browserOffline() && this.binding !== null) {
      // The `online` event brings us back.
      this.setStatus('offline')
      return
    }
    const generation = ++this.generation
    this.opening = true
    const ready = token !== undefined ? Promise.resolve(token) : this.resolveToken()
    ready.then(async (t) => {
      if (generation !== this.generation) return
      // The first token tells who we are (with getToken and no `identity`): load their copy first.
      await this.bind(identityOf(t))
      if (generation !== this.generation) return
      this.opening = false
      if (!this.shouldConnect || this.ws !== null) return
      if (identityOf(t) !== this.identity) {
        // Another person's token must not touch this person's document and copy.
        this.closed(CLOSE.unauthorized, FOREIGN_TOKEN)
        return
      }
      this.setTokenUser(t)
      if (browserOffline()) this.setStatus('offline')
      else this.openSocket(t)
    }, (err: unknown) => {
      if (generation !== this.generation) return
      this.opening = false
      console.warn('quire: getToken failed; retrying', err)
      this.setStatus('offline')
      this.scheduleReconnect()
    })
  }

  /** Key the local copy and the tab channels by `identity` and open them (once; later calls wait for the first). */
  private bind (identity: LocalIdentity): Promise<void> {
    if (this.binding !== null) return this.binding
    const keys = localKeys(this.server, identity, this.doc)
    this.identity = identity
    this.keys = keys
    if (typeof BroadcastChannel !== 'undefined') {
      if (this.opts.crossTab !== false) this.crossTab = new CrossTab(keys.channel, this.ydoc, this.awareness, this)
      this.scopeChannel = new BroadcastChannel(keys.scopeChannel)
      this.scopeChannel.onmessage = (event: MessageEvent) => {
        if (event.data === SIGNED_OUT) this.forget('signed-out')
      }
    }
    if (this.opts.offline) {
      this.localCopy = new LocalCopy(keys.database, keys.scope, this.ydoc)
      this.binding = this.localCopy.loaded
    } else {
      this.binding = Promise.resolve()
    }
    return this.binding
  }

  private setTokenUser (token: string | null): void {
    const user = tokenUser(token)
    if (user?.id === this.tokenUser?.id && user?.name === this.tokenUser?.name) return
    this.tokenUser = user
    this.emit('token-user', [user])
  }

  /** Stop talking to other tabs and close the local copy (what is in it stays). */
  private closeLocal (): void {
    this.crossTab?.close()
    this.crossTab = null
    this.scopeChannel?.close()
    this.scopeChannel = null
    void this.localCopy?.close()
  }

  /**
   * Done with this document for this person: disconnect, close the copy and
   * the tab channels, then empty the Y.Doc with this provider as origin, so
   * the deletions reach neither the server, nor the copy, nor other tabs.
   * Deleting the copy is the caller's.
   */
  private forget (reason: ClearReason): void {
    if (this.cleared !== null || this.destroyed) return
    this.cleared = reason
    this.disconnect()
    this.closeLocal()
    this.ydoc.transact((tr) => {
      for (const type of this.ydoc.share.values()) {
        for (let item = type._start; item !== null; item = item.right) item.delete(tr)
        for (const item of type._map.values()) item.delete(tr)
      }
    }, this)
    this.emit('cleared', [reason])
  }

  private async resolveToken (): Promise<string | null> {
    if (this.opts.getToken) return (await this.opts.getToken()) ?? null
    return this.opts.token ?? null
  }

  private openSocket (token: string | null): void {
    const query = new URLSearchParams({ ack: '1' })
    if (token) query.set('token', token)
    let ws: WebSocket
    try {
      ws = new this.WS(`${this.url}?${query}`)
    } catch (err) {
      console.warn('quire: cannot open a WebSocket', err)
      this.setStatus('offline')
      this.scheduleReconnect()
      return
    }
    ws.binaryType = 'arraybuffer'
    this.ws = ws
    this.opened = false
    this.lastHeardAt = Date.now()
    this.checkTimer ??= setInterval(() => this.checkLiveness(), CHECK_INTERVAL_MS)
    ws.onopen = () => {
      this.opened = true
      this.lastHeardAt = Date.now()
      this.savedState.connectionOpened()
      this.send(encodeSyncStep1(Y.encodeStateVector(this.ydoc)))
      if (this.awareness.getLocalState() !== null) {
        this.send(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.ydoc.clientID])))
      }
      this.scheduleTokenRefresh(token)
    }
    ws.onmessage = (event: MessageEvent) => {
      this.lastHeardAt = Date.now()
      if (event.data instanceof ArrayBuffer) this.receive(new Uint8Array(event.data))
    }
    ws.onclose = (event: CloseEvent) => this.closed(event.code, event.reason)
    ws.onerror = () => { /* a close event follows */ }
  }

  /**
   * Drop the current socket now, without waiting for a closing handshake.
   * `replacing`: the caller opens the next connection itself, at once.
   */
  private abandon (code: number, reason: string, replacing = false): void {
    const ws = this.ws
    if (!ws) return
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null
    try {
      ws.close(1000, reason)
    } catch { /* already closing */ }
    this.closed(code, reason, replacing)
  }

  private closed (code: number, reason: string, replacing = false): void {
    this.ws = null
    this.retryAfter.closed(reason)
    this.opened = false
    this.clearTimer('refreshTimer')
    if (this.checkTimer) clearInterval(this.checkTimer)
    this.checkTimer = null
    this.savedState.connectionClosed()
    if (this.synced) {
      this.synced = false
      this.emit('synced', [false])
    }
    // Nobody else's presence can be vouched for any more.
    const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.ydoc.clientID)
    awarenessProtocol.removeAwarenessStates(this.awareness, others, this)

    if (replacing) {
      this.emit('connection-close', [{ code, reason, willReconnect: true }])
      this.setStatus('connecting')
      return
    }
    if (retryBand(code) === 'stop') {
      if (code === CLOSE.unauthorized && this.opts.getToken && !this.authRetried) {
        // Most likely the token expired under us: one more try with a fresh one.
        this.authRetried = true
        this.emit('connection-close', [{ code, reason, willReconnect: true }])
        this.open()
        return
      }
      this.shouldConnect = false
      this.stoppedBy = { code, reason }
      this.setStatus('offline')
      this.emit('connection-close', [{ code, reason, willReconnect: false }])
      // No access to this document any more: what this person kept of it goes.
      if (code === CLOSE.forbidden && reason === NOT_COVERED) void this.clearForbidden()
      this.emit('stopped', [{ code, reason }])
      return
    }
    this.emit('connection-close', [{ code, reason, willReconnect: this.shouldConnect }])
    this.setStatus('offline')
    if (this.shouldConnect) this.scheduleReconnect()
  }

  private async clearForbidden (): Promise<void> {
    const copy = this.localCopy
    this.forget('forbidden')
    await copy?.delete()
  }

  private scheduleReconnect (): void {
    this.clearTimer('reconnectTimer')
    if (!this.shouldConnect || browserOffline()) return
    const delay = this.retryAfter.delay(backoffDelay(this.attempt++, this.backoff))
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      this.open()
    }, delay)
  }

  /** Reconnect now if we are waiting to (back online, tab visible again). */
  private reconnectNow (): void {
    if (!this.shouldConnect || this.ws !== null || this.opening) return
    // The server asked for a pause: keep to it (the pending timer does, or a new one).
    if (this.retryAfter.waiting) {
      if (this.reconnectTimer === null) this.scheduleReconnect()
      return
    }
    this.open()
  }

  private checkLiveness (): void {
    if (!this.ws) return
    const limit = this.opened ? (this.opts.livenessTimeoutMs ?? 30_000) : (this.opts.connectTimeoutMs ?? 10_000)
    if (Date.now() - this.lastHeardAt > limit) this.abandon(1006, this.opened ? 'server silent' : 'connect timeout')
  }

  /** With a token callback, swap the connection for one with a fresh token before this one expires. */
  private scheduleTokenRefresh (token: string | null): void {
    this.clearTimer('refreshTimer')
    if (!token || !this.opts.getToken) return
    const expiresAt = tokenExpiry(token)
    if (expiresAt === null) return
    const lifetime = expiresAt - Date.now()
    // Already expired (or a clock apart from the server's): the server's 4401 says so, and its retry asks for a fresh one.
    if (lifetime <= 0) return
    const margin = Math.min(this.opts.tokenRefreshMarginMs ?? 60_000, lifetime / 2)
    const ws = this.ws
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null
      this.resolveToken().then((fresh) => {
        if (this.ws !== ws || !this.shouldConnect) return
        this.abandon(1000, 'token refresh', true)
        this.open(fresh)
      }, (err: unknown) => console.warn('quire: token refresh failed', err))
    }, Math.min(Math.max(0, lifetime - margin), MAX_TIMER_MS))
  }

  // ---- messages -----------------------------------------------------------

  private receive (data: Uint8Array): void {
    const decoder = decoding.createDecoder(data)
    let type: number
    try {
      type = decoding.readVarUint(decoder)
    } catch {
      return
    }
    this.savedState.firstMessage(type === MESSAGE_QUIRE_SESSION)
    if (this.status !== 'connected') this.setStatus('connected')
    try {
      switch (type) {
        case MESSAGE_SYNC: this.receiveSync(decoder); break
        case MESSAGE_AWARENESS:
          awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), this)
          break
        case MESSAGE_QUERY_AWARENESS:
          this.send(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.ydoc.clientID])))
          break
        case MESSAGE_AUTH:
          authProtocol.readAuthMessage(decoder, this.ydoc, (_doc, reason) => this.abandon(CLOSE.forbidden, reason))
          break
        case MESSAGE_QUIRE_ACK:
          this.savedState.acknowledged(decoding.readVarUint(decoder))
          break
        case MESSAGE_QUIRE_SESSION: {
          const info = JSON.parse(decoding.readVarString(decoder)) as { access?: unknown }
          const access: Access = info.access === 'read' ? 'read' : 'write'
          if (access !== this.access) {
            this.access = access
            this.emit('access', [access])
          }
          break
        }
        default:
          // A newer server may know more; an unknown message is not an error.
          break
      }
    } catch (err) {
      console.warn('quire: ignored a malformed message from the server', err)
    }
  }

  private receiveSync (decoder: decoding.Decoder): void {
    const reply = encoding.createEncoder()
    encoding.writeVarUint(reply, MESSAGE_SYNC)
    const sub = syncProtocol.readSyncMessage(decoder, reply, this.ydoc, this)
    if (sub === SYNC_STEP1) {
      // Our answer carries everything the server lacks, edits made offline included.
      this.sendCounted(encoding.toUint8Array(reply), true)
    } else if (sub === SYNC_STEP2 && !this.synced) {
      this.synced = true
      // A connection that got this far was a good one.
      this.attempt = 0
      this.authRetried = false
      this.emit('synced', [true])
    }
  }

  private send (frame: Uint8Array): boolean {
    const ws = this.ws
    if (!ws || !this.opened || ws.readyState !== 1) return false
    ws.send(frame)
    return true
  }

  /** Send an update-carrying sync message: the server counts those for its acknowledgements. */
  private sendCounted (frame: Uint8Array, answersStep1: boolean): void {
    if (this.send(frame)) this.savedState.messageSent(answersStep1)
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this) return
    this.savedState.localChange()
    this.sendCounted(encodeUpdate(update), false)
    this.crossTab?.update(update)
  }

  private readonly onAwarenessUpdate = (
    { added, updated, removed }: { added: number[], updated: number[], removed: number[] },
    origin: unknown,
  ): void => {
    // Only our own state is ours to send; what the server or other tabs told us is theirs.
    if (origin === this) return
    const own = this.ydoc.clientID
    if (!added.includes(own) && !updated.includes(own) && !removed.includes(own)) return
    const update = awarenessProtocol.encodeAwarenessUpdate(this.awareness, [own])
    this.send(encodeAwareness(update))
    this.crossTab?.awarenessUpdate(update)
  }

  // ---- the page around us -------------------------------------------------

  private listenToPage (): void {
    const on = (target: EventTarget | undefined, type: string, handler: (e: Event) => void): void => {
      if (!target?.addEventListener) return
      target.addEventListener(type, handler)
      this.unlisten.push(() => target.removeEventListener(type, handler))
    }
    const win = typeof window === 'undefined' ? undefined : window
    const doc = typeof document === 'undefined' ? undefined : document
    on(win, 'online', () => {
      this.attempt = 0
      this.reconnectNow()
    })
    on(win, 'offline', () => {
      // The socket may linger for a long while; nothing gets through it now anyway.
      if (this.ws) this.abandon(1006, 'browser offline')
      this.clearTimer('reconnectTimer')
      this.setStatus('offline')
    })
    on(doc, 'visibilitychange', () => {
      if (doc?.visibilityState === 'visible') this.reconnectNow()
    })
    on(win, 'pagehide', () => {
      // Leave the room at once rather than after the server notices the socket is gone.
      this.hiddenState = this.awareness.getLocalState()
      if (this.hiddenState !== null) awarenessProtocol.removeAwarenessStates(this.awareness, [this.ydoc.clientID], 'page hidden')
    })
    on(win, 'pageshow', (e) => {
      // Back from the back/forward cache: come back into the room.
      if ((e as PageTransitionEvent).persisted && this.hiddenState !== null) this.awareness.setLocalState(this.hiddenState)
      this.hiddenState = null
    })
  }

  private setStatus (status: ConnectionStatus): void {
    if (status === this.status) return
    this.status = status
    this.emit('status', [status])
  }

  private clearTimer (name: 'reconnectTimer' | 'refreshTimer'): void {
    const timer = this[name]
    if (timer !== null) clearTimeout(timer)
    this[name] = null
  }
}

function browserOffline (): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false
}
