/**
 * Lean y-protocols clients for the load tests (storm.test.ts,
 * rolling-restart.test.ts): one raw WebSocket and a Y.Doc each, no
 * awareness and no timer but the reconnect, so one test process holds
 * thousands. They reconnect as Quire's provider does: capped exponential
 * backoff with full jitter (common/backoff.ts), never sooner than a
 * server's retry-after hint (client/provider/src/retry-after.ts), and they
 * give up, as any y-websocket client does, only on a close of the stop band.
 *
 * Every edit carries a marker; a marker is *acknowledged* once the server
 * acknowledged (`?ack=1`) the message that carried it, on the first
 * connection or, when that closed first, in the sync answer a later one
 * sent (which holds everything the server was missing).
 */
import { EventEmitter } from 'node:events'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { backoffDelay, type BackoffOptions } from '../../common/backoff.js'
import { retryBand } from '../../common/close-codes.js'
import { encodeSyncStep1, encodeSyncStep2, encodeUpdate } from '../../common/messages.js'
import { RetryAfter } from '../../client/provider/src/retry-after.js'
import { readServerFrame } from './frames.js'
import { waitOn } from './wait.js'

/** The first retry comes within a second (full jitter), doubling to 10 s. */
export const LEAN_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 10_000 }

const REMOTE = 'remote'

export interface LeanOptions {
  /** Where to connect (ws://host:port), asked on every connect so a test can move clients. */
  target: () => string
  doc: string
  /** Connect from this loopback address (each address is another client address to the server). */
  localAddress?: string
  /** Apply what the server sends to the own Y.Doc (a reconnect then asks with the whole state vector). */
  mirror?: boolean
  backoff?: BackoffOptions
}

export class LeanClient {
  readonly ydoc = new Y.Doc()
  synced = false
  /** Connections opened, and syncs completed. */
  opens = 0
  syncs = 0
  /** Closes the client did not ask for, by code. */
  readonly closes = new Map<number, number>()
  /** Why connections failed before they opened (e.g. "Unexpected server response: 503"), by message. */
  readonly errors = new Map<string, number>()
  /** A close of the stop band: the client gave up (a stock client would too). */
  stoppedBy: { code: number, reason: string } | null = null
  readonly acked = new Set<string>()
  readonly unacked = new Set<string>()
  private ws: WebSocket | null = null
  private attempt = 0
  /** Update-carrying messages sent on this connection, and the markers each carried. */
  private sent = 0
  private carried: Array<{ index: number, markers: string[] }> = []
  private timer: NodeJS.Timeout | null = null
  /** The markers of the edit being made (its update is sent from the Y.Doc's update event). */
  private editing: string[] = []
  private done = false
  private readonly retryAfter = new RetryAfter()

  constructor (private readonly opts: LeanOptions, private readonly events: EventEmitter) {
    this.ydoc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE) this.sendUpdate(encodeUpdate(update), this.editing)
    })
  }

  get text (): string { return this.ydoc.getText('t').toString() }

  open (): void {
    if (this.done) return
    this.timer = null
    const ws = new WebSocket(`${this.opts.target()}/${this.opts.doc}?ack=1`, { perMessageDeflate: false, localAddress: this.opts.localAddress })
    ws.binaryType = 'nodebuffer'
    this.ws = ws
    ws.on('open', () => {
      this.opens++
      this.sent = 0
      this.carried = []
      ws.send(encodeSyncStep1(Y.encodeStateVector(this.ydoc)))
    })
    ws.on('message', (data: Buffer) => this.receive(data))
    ws.on('error', (err) => {
      // A close (1006) follows; the message says what the network or a proxy answered.
      this.errors.set(err.message, (this.errors.get(err.message) ?? 0) + 1)
    })
    ws.on('close', (code: number, reason: Buffer) => this.closed(ws, code, reason.toString()))
  }

  /** Insert `marker` into the text; sent at once when connected, else with the next sync. */
  edit (marker: string): void {
    this.unacked.add(marker)
    this.editing = [marker]
    this.ydoc.getText('t').insert(0, `${marker} `)
    this.editing = []
  }

  close (): void {
    this.done = true
    if (this.timer) clearTimeout(this.timer)
    this.ws?.terminate()
    this.ydoc.destroy()
  }

  private receive (frame: Buffer): void {
    const m = readServerFrame(frame)
    if (m.type === 'sync-step1') {
      // Everything the server is missing, unacknowledged edits included.
      this.sendUpdate(encodeSyncStep2(Y.encodeStateAsUpdate(this.ydoc, m.payload)), [...this.unacked])
    } else if (m.type === 'sync-step2' || m.type === 'update') {
      if (this.opts.mirror) Y.applyUpdate(this.ydoc, m.payload, REMOTE)
      if (m.type === 'sync-step2' && !this.synced) {
        this.synced = true
        this.syncs++
        this.attempt = 0
        this.events.emit('change')
      }
    } else if (m.type === 'ack') {
      while (this.carried.length > 0 && this.carried[0].index <= m.count) {
        for (const marker of this.carried.shift()!.markers) {
          this.unacked.delete(marker)
          this.acked.add(marker)
        }
      }
      this.events.emit('change')
    }
  }

  private sendUpdate (frame: Uint8Array, markers: string[]): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return
    this.ws.send(frame)
    this.carried.push({ index: ++this.sent, markers })
  }

  private closed (ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return
    this.ws = null
    this.synced = false
    this.carried = []
    if (this.done) return
    this.closes.set(code, (this.closes.get(code) ?? 0) + 1)
    this.events.emit('close', code)
    this.retryAfter.closed(reason)
    if (retryBand(code) === 'stop') {
      this.stoppedBy = { code, reason }
    } else {
      this.timer = setTimeout(() => this.open(), this.retryAfter.delay(backoffDelay(this.attempt++, this.opts.backoff ?? LEAN_BACKOFF)))
    }
    this.events.emit('change')
  }
}

/** Many lean clients, with a bounded wait on all of them. */
export class LeanFleet {
  readonly clients: LeanClient[] = []
  private readonly events = new EventEmitter().setMaxListeners(0)

  add (opts: LeanOptions): LeanClient {
    const c = new LeanClient(opts, this.events)
    this.clients.push(c)
    c.open()
    return c
  }

  /** Resolves once `holds(client)` is true for every client, re-checked whenever one syncs, is acknowledged or closes. */
  every (holds: (c: LeanClient) => boolean, what: string, timeoutMs: number): Promise<void> {
    return waitOn((on) => {
      this.events.on('change', on)
      return () => { this.events.off('change', on) }
    }, () => this.clients.every(holds) ? true : undefined, what, timeoutMs).then(() => {})
  }

  count (holds: (c: LeanClient) => boolean): number { return this.clients.filter(holds).length }

  /** Every client's closes added up, by code. */
  closesByCode (): Record<number, number> {
    const total: Record<number, number> = {}
    for (const c of this.clients) for (const [code, n] of c.closes) total[code] = (total[code] ?? 0) + n
    return total
  }

  /** Every client's connection errors added up, by message. */
  errorsByMessage (): Record<string, number> {
    const total: Record<string, number> = {}
    for (const c of this.clients) for (const [message, n] of c.errors) total[message] = (total[message] ?? 0) + n
    return total
  }

  /** Call `listener` with the code of every close a client did not ask for. */
  onClose (listener: (code: number) => void): void { this.events.on('close', listener) }

  closeAll (): void { for (const c of this.clients) c.close() }
}

/** The i-th of `n` client addresses on the loopback network (127.1.0.1 …): each is another client to the server. */
export function loopbackAddress (i: number, n: number): string {
  const k = i % n
  return `127.1.${Math.floor(k / 250)}.${1 + (k % 250)}`
}
