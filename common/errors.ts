/**
 * A frame that breaks the wire format or a limit: the server closes its
 * connection with `code` (4400 by default; see close-codes.ts).
 */
import { CLOSE } from './close-codes.js'

export class ProtocolError extends Error {
  constructor (message: string, readonly code: number = CLOSE.badRequest) { super(message) }
}
