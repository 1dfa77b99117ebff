/**
 * A lightweight protocol client: one WebSocket, one document, raw y-protocols
 * messages (behind the server's framing). It syncs like a provider does —
 * sends sync step 1, answers the server's step 1 with its own state, is
 * "synced" on the server's step 2 — and hands received updates and awareness
 * to the scenario as raw bytes, so a reader costs the load generator almost
 * nothing beyond the WebSocket itself.
 */
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import type { Wire } from '../servers/server.js'
import type { WireFormat } from './wire.js'
import { ywsWire } from './yws.js'
import { hocuspocusWire } from './hocuspocus.js'
import { readVarUint } from './varint.js'

import { EMPTY_STATE_VECTOR, EMPTY_UPDATE, MESSAGE_AWARENESS, MESSAGE_QUIRE_ACK, MESSAGE_SYNC, SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE } from '../../common/messages.js'

export const wires: Record<Wire, WireFormat> = { yws: ywsWire, hocuspocus: hocuspocusWire }

export interface ClientHandlers {
  /** A sync update; its payload (Yjs update bytes) is `frame[start..end)`. */
  onUpdate? (frame: Buffer, start: number, end: number): void
  /** A sync step 2 (the server's answer to our step 1), decoded. */
  onStep2? (update: Uint8Array): void
  /** An awareness update; its payload is `frame[start..end)`. */
  onAwareness? (frame: Buffer, start: number, end: number): void
  /** Quire acknowledgement: this many of our update messages are durable. */
  onAck? (count: number): void
  /** The server (or the network) closed the connection; not called for `close()`. */
  onClose? (code: number): void
}

export interface ClientOptions {
  wire: Wire
  /** ws://host:port of the instance. */
  base: string
  doc: string
  handlers?: ClientHandlers
  /** The client's own document (writers): its state answers the server's step 1. */
  ydoc?: Y.Doc
  /** Ask Quire for acknowledgements. */
  acks?: boolean
  /** Only send (a seeding writer): ready once the socket is open, without asking for the document (no sync step 1). */
  sendOnly?: boolean
  timeoutMs?: number
}

export class BenchClient {
  synced = false
  closed = false
  /** Update-carrying messages sent (sync step 2 and updates), as Quire counts them for acks. */
  updatesSent = 0
  acked = 0
  private readonly prefix: Uint8Array
  private syncedWaiters: Array<() => void> = []

  private constructor (readonly ws: WebSocket, readonly wire: WireFormat, readonly opts: ClientOptions) {
    this.prefix = wire.prefix(opts.doc)
  }

  /** Open, sync, and resolve once the server's sync step 2 has arrived. */
  static connect (opts: ClientOptions): Promise<BenchClient> {
    const wire = wires[opts.wire]
    const ws = new WebSocket(wire.url(opts.base, opts.doc, opts.acks ? 'ack=1' : ''), {
      perMessageDeflate: false,
      maxPayload: 256 * 1024 * 1024,
    })
    ws.binaryType = 'nodebuffer'
    const client = new BenchClient(ws, wire, opts)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate()
        reject(new Error(`${opts.doc}: not synced within ${opts.timeoutMs ?? 30_000} ms`))
      }, opts.timeoutMs ?? 30_000)
      ws.on('open', () => {
        for (const f of wire.hello(opts.doc)) ws.send(f)
        if (opts.sendOnly) return client.markSynced()
        client.sendSync(SYNC_STEP1, opts.ydoc ? Y.encodeStateVector(opts.ydoc) : EMPTY_STATE_VECTOR)
      })
      ws.on('message', (data: Buffer) => client.receive(data))
      ws.on('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      ws.on('close', (code) => {
        clearTimeout(timer)
        const byUs = client.closed
        client.closed = true
        if (!client.synced) reject(new Error(`${opts.doc}: closed with ${code} before syncing`))
        // Only a close the bench did not ask for is news.
        if (!byUs) opts.handlers?.onClose?.(code)
      })
      client.syncedWaiters.push(() => {
        clearTimeout(timer)
        resolve(client)
      })
    })
  }

  sendUpdate (update: Uint8Array): void {
    this.sendSync(SYNC_UPDATE, update)
  }

  sendAwareness (update: Uint8Array): void {
    this.send(MESSAGE_AWARENESS, -1, update)
  }

  /** Drop the connection at once (as a closed laptop does). */
  close (): void {
    if (this.closed) return
    this.closed = true
    this.ws.terminate()
  }

  private markSynced (): void {
    if (this.synced) return
    this.synced = true
    for (const w of this.syncedWaiters) w()
    this.syncedWaiters = []
  }

  private sendSync (sub: number, payload: Uint8Array): void {
    if (sub !== SYNC_STEP1) this.updatesSent++
    this.send(MESSAGE_SYNC, sub, payload)
  }

  private send (type: number, sub: number, payload: Uint8Array): void {
    if (this.ws.readyState !== WebSocket.OPEN) return
    const e = encoding.createEncoder()
    encoding.writeUint8Array(e, this.prefix)
    encoding.writeVarUint(e, type)
    if (sub >= 0) encoding.writeVarUint(e, sub)
    encoding.writeVarUint8Array(e, payload)
    this.ws.send(encoding.toUint8Array(e))
  }

  private receive (frame: Buffer): void {
    const h = this.opts.handlers
    let pos = this.wire.bodyOffset(frame)
    const [type, afterType] = readVarUint(frame, pos)
    pos = afterType
    if (type === MESSAGE_SYNC) {
      const [sub, afterSub] = readVarUint(frame, pos)
      const [length, start] = readVarUint(frame, afterSub)
      const end = start + length
      if (sub === SYNC_UPDATE) {
        h?.onUpdate?.(frame, start, end)
      } else if (sub === SYNC_STEP1) {
        const sv = frame.subarray(start, end)
        const answer = this.opts.ydoc ? Y.encodeStateAsUpdate(this.opts.ydoc, sv) : EMPTY_UPDATE
        this.sendSync(SYNC_STEP2, answer)
      } else if (sub === SYNC_STEP2) {
        h?.onStep2?.(frame.subarray(start, end))
        this.markSynced()
      }
    } else if (type === MESSAGE_AWARENESS) {
      const [length, start] = readVarUint(frame, pos)
      h?.onAwareness?.(frame, start, start + length)
    } else if (type === MESSAGE_QUIRE_ACK) {
      this.acked = readVarUint(frame, pos)[0]
      h?.onAck?.(this.acked)
    }
    // Anything else (auth answers, Hocuspocus sync status, Quire's session message) needs no answer.
  }
}

/** Connect many clients, `concurrency` handshakes at a time; rejects on the first failure. */
export async function connectAll (specs: ClientOptions[], concurrency: number): Promise<BenchClient[]> {
  const clients: BenchClient[] = new Array(specs.length)
  let next = 0
  let failed: unknown = null
  const worker = async (): Promise<void> => {
    while (next < specs.length && failed === null) {
      const i = next++
      try {
        clients[i] = await BenchClient.connect(specs[i])
      } catch (err) {
        failed ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker))
  if (failed !== null) {
    for (const c of clients) c?.close()
    throw failed
  }
  return clients
}

export function closeAll (clients: Iterable<BenchClient | undefined>): void {
  for (const c of clients) c?.close()
}
