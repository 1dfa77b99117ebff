/**
 * The wire format, shared with the server (server/protocol/messages.ts is
 * its one definition): y-protocols messages, one per WebSocket frame, plus
 * Quire's type 100 (acknowledgement count) and 101 (session access), which a
 * server sends only to clients that connect with `?ack=1`.
 */
import * as encoding from 'lib0/encoding'
import { MESSAGE_QUERY_AWARENESS } from '../../../server/protocol/messages.js'

export {
  MESSAGE_SYNC, MESSAGE_AWARENESS, MESSAGE_AUTH, MESSAGE_QUERY_AWARENESS, MESSAGE_QUIRE_ACK, MESSAGE_QUIRE_SESSION,
  SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE, encodeSyncStep1, encodeSyncStep2, encodeUpdate, encodeAwareness,
} from '../../../server/protocol/messages.js'

export const QUERY_AWARENESS_FRAME = ((): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_QUERY_AWARENESS)
  return encoding.toUint8Array(encoder)
})()
