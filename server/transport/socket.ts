/**
 * ws closes an over-size message with 1009; the contract says 4413. ws calls
 * `close(1009)` on the socket itself, so a subclass can translate it.
 */
import { WebSocket } from 'ws'
import { CLOSE } from './close-codes.js'

export class QuireSocket extends WebSocket {
  override close (code?: number, reason?: string | Buffer): void {
    if (code === 1009) super.close(CLOSE.tooLarge, 'message too large')
    else super.close(code, reason)
  }
}
