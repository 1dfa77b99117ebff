/**
 * Keeps the provider connected (docs/editor.md, "Connection"): one
 * connection at a time, over whichever transport works (connector.ts).
 * - reconnects with capped exponential backoff and full jitter, reset only
 *   after a connection that synced (`succeeded()`); at once on `reconnectNow()`;
 *   never sooner than a server's retry-after hint (retry-after.ts);
 * - asks for a token on every (re)connect and, with a token callback, again
 *   before the token expires (the connection is swapped for a fresh one);
 * - stops for good on a 44xx close, after one retry with a fresh token on 4401;
 * - gives up on a connection silent for too long, or an attempt that does
 *   not open in time;
 * - while on the fallback stream, tries WebSockets in the background and
 *   moves to the first one the server answers on.
 */
import { backoffDelay, type BackoffOptions, CLOSE, retryBand } from '@quire/common'
import { RetryAfter } from './retry-after.js'
import type { Connector } from './connector.js'
import type { CloseInfo, ConnectionStatus } from './provider-options.js'
import { tokenExpiry } from './token.js'
import { ABNORMAL_CLOSURE, NORMAL_CLOSURE, type Transport, type TransportHandlers, type TransportKind, type TransportTarget } from './transport.js'

const CHECK_INTERVAL_MS = 1000
const MAX_TIMER_MS = 2 ** 31 - 1

export interface LinkOptions {
  connector: Connector
  /** Both transports' URLs for a token. */
  target (token: string | null): TransportTarget
  /** The token for the next connection. */
  resolveToken (): Promise<string | null>
  /** Tokens come from a callback: refreshed before they expire, and a 4401 is retried once with a fresh one. */
  refreshesTokens: boolean
  /** Before connecting with `token`: null to go on, or the close to end with instead (a token for someone else). */
  prepare (token: string | null): Promise<CloseInfo | null>
  /** Wait for the browser to come online rather than try now. */
  waitForOnline (): boolean
  backoff: BackoffOptions
  probeBackoff: BackoffOptions
  livenessTimeoutMs: number
  connectTimeoutMs: number
  tokenRefreshMarginMs: number
}

export interface LinkEvents {
  /** A connection is open: send the first messages. */
  open (): void
  message (frame: Uint8Array): void
  /** A connection ended, or an attempt failed. `stopped`: a 44xx close, nothing more is tried. */
  close (info: CloseInfo & { willReconnect: boolean, stopped: boolean }): void
  status (status: ConnectionStatus): void
  /** What carries the connection once it opened; null once it is gone. */
  transport (kind: TransportKind | null): void
}

export class Link {
  status: ConnectionStatus = 'connecting'
  private transport: Transport | null = null
  private probe: Transport | null = null
  private opened = false
  private opening = false
  private shouldConnect = false
  private attempt = 0
  private probeAttempt = 0
  /** Bumped whenever a pending open must be forgotten. */
  private generation = 0
  private authRetried = false
  /** The server's retry-after hint of the last close (retry-after.ts). */
  private readonly retryAfter = new RetryAfter()
  private lastHeardAt = 0
  /** The token of the current connection (probes use it too). */
  private token: string | null = null
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private refreshTimer: ReturnType<typeof setTimeout> | null = null
  private probeTimer: ReturnType<typeof setTimeout> | null = null
  private checkTimer: ReturnType<typeof setInterval> | null = null

  constructor (private readonly opts: LinkOptions, private readonly events: LinkEvents) {}

  /** A connection exists or is being made. */
  get active (): boolean { return this.transport !== null || this.opening }

  /** What carries the open connection (null: none open). */
  get transportKind (): TransportKind | null { return this.opened ? this.transport!.kind : null }

  /** Start (or resume) connecting. */
  connect (): void {
    this.shouldConnect = true
    this.authRetried = false
    if (this.active) return
    if (this.status !== 'offline') this.setStatus('connecting')
    this.open()
  }

  /** Close the connection and stay disconnected until connect(). */
  disconnect (reason = 'disconnected by the app'): void {
    this.shouldConnect = false
    this.generation++
    this.opening = false
    this.clearTimer('reconnectTimer')
    if (this.transport) this.abandon(NORMAL_CLOSURE, reason)
    else this.setStatus('offline')
  }

  /** The connection synced: it was a good one, so the backoff starts over. */
  succeeded (): void {
    this.attempt = 0
    this.authRetried = false
  }

  /** Reconnect now if we are waiting to (back online, tab visible again); `fresh`: forget the backoff. */
  reconnectNow (fresh = false): void {
    if (fresh) this.attempt = 0
    if (!this.shouldConnect || this.active) return
    // The server asked for a pause: keep to it (the pending timer does, or a new one).
    if (this.retryAfter.waiting) {
      if (this.reconnectTimer === null) this.scheduleReconnect()
      return
    }
    this.open()
  }

  /** The browser went offline: nothing gets through the connection now anyway. */
  wentOffline (): void {
    if (this.transport) this.abandon(ABNORMAL_CLOSURE, 'browser offline')
    this.clearTimer('reconnectTimer')
    this.setStatus('offline')
  }

  /** End the current connection ourselves (a refusal we found, say). */
  drop (code: number, reason: string): void {
    if (this.transport) this.abandon(code, reason)
  }

  send (frame: Uint8Array): boolean {
    const t = this.transport
    if (!t || !this.opened || !t.isOpen) return false
    t.send(frame)
    return true
  }

  // ---- connecting ---------------------------------------------------------

  private open (token?: string | null): void {
    this.clearTimer('reconnectTimer')
    if (!this.shouldConnect || this.active) return
    if (this.opts.waitForOnline()) {
      // The `online` event brings us back.
      this.setStatus('offline')
      return
    }
    const generation = ++this.generation
    this.opening = true
    const ready = token !== undefined ? Promise.resolve(token) : this.opts.resolveToken()
    ready.then(async (t) => {
      if (generation !== this.generation) return
      const refused = await this.opts.prepare(t)
      if (generation !== this.generation) return
      this.opening = false
      if (!this.shouldConnect || this.transport !== null) return
      if (refused !== null) return this.closed(refused.code, refused.reason)
      if (browserOffline()) this.setStatus('offline')
      else this.start(t)
    }, (err: unknown) => {
      if (generation !== this.generation) return
      this.opening = false
      console.warn('quire: getToken failed; retrying', err)
      this.setStatus('offline')
      this.scheduleReconnect()
    })
  }

  private start (token: string | null): void {
    this.token = token
    const t: Transport = this.opts.connector.connect(this.opts.target(token), this.handlersFor(() => t))
    this.transport = t
    this.opened = false
    this.lastHeardAt = Date.now()
    this.checkTimer ??= setInterval(() => this.checkLiveness(), CHECK_INTERVAL_MS)
  }

  /** Handlers that act only while `current()` is the connection. */
  private handlersFor (current: () => Transport): TransportHandlers {
    return {
      open: () => { if (this.transport === current()) this.onOpen() },
      message: (frame) => { if (this.transport === current()) this.onMessage(frame) },
      close: (code, reason) => { if (this.transport === current()) this.closed(code, reason) },
    }
  }

  private onOpen (): void {
    this.opened = true
    this.lastHeardAt = Date.now()
    this.events.transport(this.transport!.kind)
    this.events.open()
    this.scheduleTokenRefresh()
    if (this.transport!.kind === 'stream' && this.opts.connector.probing) this.scheduleProbe()
  }

  private onMessage (frame: Uint8Array): void {
    this.lastHeardAt = Date.now()
    if (this.status !== 'connected') this.setStatus('connected')
    this.events.message(frame)
  }

  /**
   * Drop the current connection now, without waiting for a closing handshake.
   * `replacing`: the caller opens the next connection itself, at once.
   */
  private abandon (code: number, reason: string, replacing = false): void {
    const t = this.transport
    if (!t) return
    t.abandon(reason)
    this.closed(code, reason, replacing)
  }

  private closed (code: number, reason: string, replacing = false): void {
    const hadOpened = this.opened
    this.retryAfter.closed(reason)
    this.transport = null
    this.opened = false
    this.clearTimer('refreshTimer')
    this.stopProbing()
    if (this.checkTimer) clearInterval(this.checkTimer)
    this.checkTimer = null
    if (hadOpened) this.events.transport(null)
    if (replacing) {
      this.events.close({ code, reason, willReconnect: true, stopped: false })
      this.setStatus('connecting')
      return
    }
    if (retryBand(code) === 'stop') {
      if (code === CLOSE.unauthorized && this.opts.refreshesTokens && !this.authRetried) {
        // Most likely the token expired under us: one more try with a fresh one.
        this.authRetried = true
        this.events.close({ code, reason, willReconnect: true, stopped: false })
        this.open()
        return
      }
      this.shouldConnect = false
      // Told before the status changes, so whoever renders the status knows why.
      this.events.close({ code, reason, willReconnect: false, stopped: true })
      this.setStatus('offline')
      return
    }
    this.events.close({ code, reason, willReconnect: this.shouldConnect, stopped: false })
    this.setStatus('offline')
    if (this.shouldConnect) this.scheduleReconnect()
  }

  private scheduleReconnect (): void {
    this.clearTimer('reconnectTimer')
    if (!this.shouldConnect || browserOffline()) return
    const delay = this.retryAfter.delay(backoffDelay(this.attempt++, this.opts.backoff))
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      this.open()
    }, delay)
  }

  private checkLiveness (): void {
    if (!this.transport) return
    const limit = this.opened ? this.opts.livenessTimeoutMs : this.opts.connectTimeoutMs
    if (Date.now() - this.lastHeardAt <= limit) return
    if (!this.opened) this.opts.connector.attemptTimedOut()
    this.abandon(ABNORMAL_CLOSURE, this.opened ? 'server silent' : 'connect timeout')
  }

  /** With a token callback, swap the connection for one with a fresh token before this one expires. */
  private scheduleTokenRefresh (): void {
    this.clearTimer('refreshTimer')
    const token = this.token
    if (!token || !this.opts.refreshesTokens) return
    const expiresAt = tokenExpiry(token)
    if (expiresAt === null) return
    const lifetime = expiresAt - Date.now()
    // Already expired (or a clock apart from the server's): the server's 4401 says so, and its retry asks for a fresh one.
    if (lifetime <= 0) return
    const margin = Math.min(this.opts.tokenRefreshMarginMs, lifetime / 2)
    const transport = this.transport
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null
      this.opts.resolveToken().then((fresh) => {
        if (this.transport !== transport || !this.shouldConnect) return
        this.abandon(NORMAL_CLOSURE, 'token refresh', true)
        this.open(fresh)
      }, (err: unknown) => console.warn('quire: token refresh failed', err))
    }, Math.min(Math.max(0, lifetime - margin), MAX_TIMER_MS))
  }

  // ---- back to WebSockets -------------------------------------------------

  private scheduleProbe (): void {
    this.clearTimer('probeTimer')
    const delay = backoffDelay(this.probeAttempt++, this.opts.probeBackoff)
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null
      if (this.transport?.kind !== 'stream' || !this.opened || this.probe !== null) return
      // Taken over on its first message, not when it opens: a refused WebSocket opens, then closes with its code.
      const probe: Transport = this.opts.connector.probe(this.opts.target(this.token), {
        open: () => {},
        message: (frame) => {
          if (this.probe === probe) this.takeOver(probe, frame)
          else if (this.transport === probe) this.onMessage(frame)
        },
        close: (code, reason) => {
          if (this.transport === probe) return this.closed(code, reason)
          if (this.probe !== probe) return
          this.probe = null
          this.scheduleProbe()
        },
      })
      this.probe = probe
    }, delay)
  }

  /** A probe heard from the server: it becomes the connection; what the stream left unacknowledged is re-sent on it. */
  private takeOver (probe: Transport, first: Uint8Array): void {
    this.probe = null
    this.probeAttempt = 0
    this.opts.connector.webSocketWorks()
    this.abandon(NORMAL_CLOSURE, 'back to WebSocket', true)
    this.transport = probe
    this.lastHeardAt = Date.now()
    this.checkTimer ??= setInterval(() => this.checkLiveness(), CHECK_INTERVAL_MS)
    this.onOpen()
    this.onMessage(first)
  }

  private stopProbing (): void {
    this.clearTimer('probeTimer')
    this.probe?.abandon('probe no longer needed')
    this.probe = null
  }

  private setStatus (status: ConnectionStatus): void {
    if (status === this.status) return
    this.status = status
    this.events.status(status)
  }

  private clearTimer (name: 'reconnectTimer' | 'refreshTimer' | 'probeTimer'): void {
    const timer = this[name]
    if (timer !== null) clearTimeout(timer)
    this[name] = null
  }
}

export function browserOffline (): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false
}
