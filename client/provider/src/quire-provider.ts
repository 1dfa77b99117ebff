/**
 * Quire's client provider: a Y.Doc and its awareness kept in sync with a
 * Quire server (or any y-websocket compatible server).
 *
 * Beyond what y-websocket does, it:
 * - connects over a WebSocket or, where the network refuses WebSockets,
 *   over the HTTP stream (`transport`), and keeps connected (link.ts:
 *   backoff with jitter, fresh tokens, 44xx stops, back to WebSockets);
 * - asks for acknowledgements (`?ack=1`) and reports whether every local
 *   change is durable on the server (`saved`);
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
import { ObservableV2 } from 'lib0/observable'
import * as awarenessProtocol from 'y-protocols/awareness'
import { encodeAwareness, encodeSyncStep1, encodeUpdate, DEFAULT_BACKOFF, CLOSE, CLOSE_REASONS, streamPath } from '@quire/common'
import { tokenUser, type TokenUser } from './token.js'
import { SavedState } from './saved-state.js'
import { CrossTab } from './cross-tab.js'
import { identityOf, identityOfSub, localKeys, type LocalIdentity, type LocalKeys } from './local-keys.js'
import { LocalCopy } from './local-copy.js'
import { SIGNED_OUT, signOutIdentity } from './sign-out.js'
import { toHttpBase, toWebSocketBase } from './server-url.js'
import { Connector } from './connector.js'
import { browserOffline, Link } from './link.js'
import { listenToPage } from './page-events.js'
import { receiveMessage, type MessageContext } from './server-messages.js'
import {
  FOREIGN_TOKEN, type Access, type ClearReason, type CloseInfo, type ConnectionStatus, type ProviderEvents,
  type QuireProviderOptions, type TransportKind,
} from './provider-options.js'

export { FOREIGN_TOKEN }
export type { Access, ClearReason, CloseInfo, ConnectionStatus, ProviderEvents, QuireProviderOptions, TransportKind }

/** The close reason of a 4403 for a token that does not cover the document (any other 4403, e.g. a refused origin, keeps the copy). */
const NOT_COVERED = CLOSE_REASONS[CLOSE.forbidden]
/** While on the stream, WebSockets are tried again after 2 s, then doubling up to a minute (never all at once). */
const PROBE_BACKOFF = { baseMs: 2_000, maxMs: 60_000, jitter: 'spread' } as const

export class QuireProvider extends ObservableV2<ProviderEvents> {
  readonly ydoc: Y.Doc
  readonly awareness: awarenessProtocol.Awareness
  readonly doc: string
  /** The server's WebSocket base URL (`ws://host:port`). */
  readonly server: string
  /** The WebSocket URL without its query. */
  readonly url: string
  /** The fallback stream's URL without its query. */
  readonly streamUrl: string
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
  private readonly link: Link
  private readonly savedState: SavedState
  /** The provider as server messages see it (server-messages.ts). */
  private readonly messages: MessageContext
  /** Who this provider is for, once known (bound once, for its lifetime). */
  private keys: LocalKeys | null = null
  private identity: LocalIdentity | null = null
  /** Resolves once the local copy is loaded (or there is none). */
  private binding: Promise<void> | null = null
  private localCopy: LocalCopy | null = null
  private crossTab: CrossTab | null = null
  private scopeChannel: BroadcastChannel | null = null
  private destroyed = false
  private hiddenState: Record<string, unknown> | null = null
  private readonly unlistenPage: () => void

  constructor (opts: QuireProviderOptions) {
    super()
    this.opts = opts
    this.ydoc = opts.ydoc
    this.doc = opts.doc
    this.awareness = opts.awareness ?? new awarenessProtocol.Awareness(opts.ydoc)
    this.server = toWebSocketBase(opts.server)
    this.url = `${this.server}/${opts.doc.split('/').map(encodeURIComponent).join('/')}`
    this.streamUrl = `${toHttpBase(this.server)}${streamPath(opts.doc)}`
    const connector = new Connector({
      WebSocket: opts.WebSocket ?? globalThis.WebSocket,
      fetch: opts.fetch ?? globalThis.fetch,
      fallback: opts.fallback !== false,
      webSocketTimeoutMs: opts.webSocketTimeoutMs ?? 4_000,
    })
    this.link = new Link({
      connector,
      target: (token) => {
        const query = new URLSearchParams({ ack: '1' })
        if (token) query.set('token', token)
        return { webSocketUrl: `${this.url}?${query}`, streamUrl: `${this.streamUrl}?${query}` }
      },
      resolveToken: () => this.resolveToken(),
      refreshesTokens: opts.getToken !== undefined,
      prepare: (token) => this.prepare(token),
      waitForOnline: () => browserOffline() && this.binding !== null,
      backoff: { ...DEFAULT_BACKOFF, ...opts.backoff },
      probeBackoff: { ...PROBE_BACKOFF, ...opts.probeBackoff },
      livenessTimeoutMs: opts.livenessTimeoutMs ?? 30_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      tokenRefreshMarginMs: opts.tokenRefreshMarginMs ?? 60_000,
    }, {
      open: () => this.opened(),
      message: (frame) => this.receive(frame),
      close: (info) => this.closed(info),
      status: (status) => this.emit('status', [status]),
      transport: (kind) => this.emit('transport', [kind]),
    })
    this.savedState = new SavedState((saved) => this.emit('saved', [saved]))
    this.messages = {
      ydoc: this.ydoc,
      awareness: this.awareness,
      origin: this,
      savedState: this.savedState,
      send: (frame) => { this.link.send(frame) },
      sendCounted: (frame, answersStep1) => this.sendCounted(frame, answersStep1),
      refused: (reason) => this.link.drop(CLOSE.forbidden, reason),
      synced: () => {
        if (this.synced) return
        this.synced = true
        // A connection that got this far was a good one.
        this.link.succeeded()
        this.emit('synced', [true])
      },
      access: (access) => {
        if (access === this.access) return
        this.access = access
        this.emit('access', [access])
      },
    }
    this.ydoc.on('update', this.onDocUpdate)
    this.awareness.on('update', this.onAwarenessUpdate)
    this.unlistenPage = this.listenToPage()
    // Who we are, when known without asking getToken: open the local copy now, online or not.
    if (opts.identity) void this.bind(identityOfSub(opts.identity))
    else if (!opts.getToken) {
      void this.bind(identityOf(opts.token))
      this.setTokenUser(opts.token ?? null)
    }
    if (opts.connect !== false) this.connect()
  }

  get status (): ConnectionStatus {
    return this.link.status
  }

  /** What carries the open connection: `websocket`, or `stream` (the HTTP fallback); null while none is open. */
  get transport (): TransportKind | null {
    return this.link.transportKind
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
    this.stoppedBy = null
    this.link.connect()
  }

  /** Close the connection and stay disconnected until connect(). */
  disconnect (): void {
    this.link.disconnect()
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
    this.unlistenPage()
    this.ydoc.off('update', this.onDocUpdate)
    this.awareness.off('update', this.onAwarenessUpdate)
    if (!this.opts.awareness) this.awareness.destroy()
    super.destroy()
  }

  // ---- who we are, the local copy and other tabs ----------------------------

  /** Before connecting with `token`: the first token tells who we are (load their copy first); another person's token must not touch it. */
  private async prepare (token: string | null): Promise<CloseInfo | null> {
    await this.bind(identityOf(token))
    if (identityOf(token) !== this.identity) return { code: CLOSE.unauthorized, reason: FOREIGN_TOKEN }
    this.setTokenUser(token)
    return null
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

  // ---- a connection opens and closes ----------------------------------------

  private opened (): void {
    this.savedState.connectionOpened()
    this.link.send(encodeSyncStep1(Y.encodeStateVector(this.ydoc)))
    if (this.awareness.getLocalState() !== null) {
      this.link.send(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.ydoc.clientID])))
    }
  }

  private closed ({ code, reason, willReconnect, stopped }: CloseInfo & { willReconnect: boolean, stopped: boolean }): void {
    this.savedState.connectionClosed()
    if (this.synced) {
      this.synced = false
      this.emit('synced', [false])
    }
    // Nobody else's presence can be vouched for any more.
    const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.ydoc.clientID)
    awarenessProtocol.removeAwarenessStates(this.awareness, others, this)
    if (stopped) this.stoppedBy = { code, reason }
    this.emit('connection-close', [{ code, reason, willReconnect }])
    if (!stopped) return
    // No access to this document any more: what this person kept of it goes.
    if (code === CLOSE.forbidden && reason === NOT_COVERED) void this.clearForbidden()
    this.emit('stopped', [{ code, reason }])
  }

  private async clearForbidden (): Promise<void> {
    const copy = this.localCopy
    this.forget('forbidden')
    await copy?.delete()
  }

  // ---- messages -----------------------------------------------------------

  private receive (data: Uint8Array): void {
    receiveMessage(this.messages, data)
  }

  /** Send an update-carrying sync message: the server counts those for its acknowledgements. */
  private sendCounted (frame: Uint8Array, answersStep1: boolean): void {
    if (this.link.send(frame)) this.savedState.messageSent(answersStep1)
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
    this.link.send(encodeAwareness(update))
    this.crossTab?.awarenessUpdate(update)
  }

  private listenToPage (): () => void {
    return listenToPage({
      online: () => this.link.reconnectNow(true),
      offline: () => this.link.wentOffline(),
      visible: () => this.link.reconnectNow(),
      pagehide: () => {
        // Leave the room at once rather than after the server notices the connection is gone.
        this.hiddenState = this.awareness.getLocalState()
        if (this.hiddenState !== null) awarenessProtocol.removeAwarenessStates(this.awareness, [this.ydoc.clientID], 'page hidden')
      },
      pageshow: (persisted) => {
        // Back from the back/forward cache: come back into the room.
        if (persisted && this.hiddenState !== null) this.awareness.setLocalState(this.hiddenState)
        this.hiddenState = null
      },
    })
  }
}
