/**
 * ws closes a connection itself when a frame breaks its rules, with the
 * RFC 6455 codes, which stock clients take as transient (they would
 * reconnect and send the same thing again). The contract wants 4413 for an
 * over-size message and 4400 for any other bad frame. ws calls `close(code)`
 * on the socket for these, so a subclass can translate them:
 *   1009 message too big            -> 4413
 *   1002 protocol error (bad opcode, unmasked or fragmented control frame)
 *   1007 invalid UTF-8 in a text frame  -> 4400
 * Our own code never closes with 1002, 1007 or 1009.
 */
import { WebSocket } from 'ws'
import { CLOSE } from './close-codes.js'

export class QuireSocket extends WebSocket {
  override close (code?: number, reason?: string | Buffer): void {
    if (code === 1009) super.close(CLOSE.tooLarge, 'message too large')
    else if (code === 1002 || code === 1007) super.close(CLOSE.badRequest, 'malformed frame')
    else super.close(code, reason)
  }
}
