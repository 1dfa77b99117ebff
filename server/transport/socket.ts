/**
 * The server's WebSocket: ws's, with two changes.
 *
 * Close codes. ws closes a connection itself when a frame breaks its rules,
 * with the RFC 6455 codes, which stock clients take as transient (they would
 * reconnect and send the same thing again). docs/protocol.md wants 4413 for an
 * over-size message and 4400 for any other bad frame. ws calls `close(code)`
 * on the socket for these, so a subclass can translate them:
 *   1009 message too big            -> 4413
 *   1002 protocol error (bad opcode, unmasked or fragmented control frame)
 *   1007 invalid UTF-8 in a text frame  -> 4400
 * Our own code never closes with 1002, 1007 or 1009.
 *
 * A connection's channel (connection.ts): `sendShared`, `close`,
 * `bufferedAmount` and whether it is open, with no wrapper in between.
 *
 * Shared frames. `sendShared` writes a frame encoded once for all peers
 * (ws-frame.ts) straight to the TCP socket instead of having ws frame the
 * payload again for every peer.
 */
import type { Duplex } from 'node:stream'
import { WebSocket } from 'ws'
import { CLOSE } from '../../common/close-codes.js'
import type { Transport } from '../ops/metrics.js'
import type { Channel } from './connection.js'
import { wireFrame } from './ws-frame.js'

/**
 * The parts of ws 8's internals `sendShared` relies on. They are not ws's
 * public API: package.json pins ws to an exact version, and
 * test/ws-internals.test.ts fails, naming what moved, if an upgrade changes
 * them (update both together).
 */
interface WsInternals {
  /** The TCP socket, set once the upgrade completes. */
  _socket: Duplex
  /** ws's frame writer: `_state` 0 (DEFAULT) and an empty `_queue` mean it writes through synchronously. */
  _sender: { _state: number, _queue: unknown[] }
}

export class QuireSocket extends WebSocket implements Channel {
  get transport (): Transport { return 'websocket' }
  get isOpen (): boolean { return this.readyState === WebSocket.OPEN }

  override close (code?: number, reason?: string | Buffer): void {
    if (code === 1009) super.close(CLOSE.tooLarge, 'message too large')
    else if (code === 1002 || code === 1007) super.close(CLOSE.badRequest, 'malformed frame')
    else super.close(code, reason)
  }

  /**
   * Send `payload` as one binary message, on the socket while OPEN. ws
   * writes its own frames (pongs, the close frame) to the same socket
   * synchronously — its sender queues only while compressing or reading a
   * Blob, and we use neither (perMessageDeflate is off) — so writing here
   * keeps the order of everything sent. Should ws ever be queueing, the
   * message goes through ws to keep that order. What is written counts in
   * `bufferedAmount` (the socket's writable length) like ws's own sends.
   */
  sendShared (payload: Uint8Array): void {
    const { _socket: socket, _sender: sender } = this as unknown as WsInternals
    if (sender._state !== 0 || sender._queue.length !== 0) {
      this.send(payload, { binary: true })
      return
    }
    const frame = wireFrame(payload)
    if (Buffer.isBuffer(frame)) {
      socket.write(frame)
    } else {
      socket.cork()
      socket.write(frame[0])
      socket.write(frame[1])
      socket.uncork()
    }
  }
}
