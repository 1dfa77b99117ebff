/**
 * Hocuspocus framing, as @hocuspocus/provider speaks it: every message, both
 * ways, starts with the document name (varString); the first message for a
 * document must be an auth message (type 2, subtype 0 = token, then the
 * token), or the server queues everything else until it arrives. The URL
 * path carries nothing.
 */
import * as encoding from 'lib0/encoding'
import type { WireFormat } from './wire.js'
import { skipVarBytes } from './varint.js'

import { MESSAGE_AUTH } from '../../common/messages.js'

/** Hocuspocus's auth sub-message carrying a token (its own extension of y-protocols' auth message). */
const AUTH_TOKEN = 0

export const hocuspocusWire: WireFormat = {
  url: (base, _doc, query) => `${base}/${query ? `?${query}` : ''}`,
  prefix (doc) {
    const e = encoding.createEncoder()
    encoding.writeVarString(e, doc)
    return encoding.toUint8Array(e)
  },
  hello (doc) {
    const e = encoding.createEncoder()
    encoding.writeVarString(e, doc)
    encoding.writeVarUint(e, MESSAGE_AUTH)
    encoding.writeVarUint(e, AUTH_TOKEN)
    encoding.writeVarString(e, 'bench')
    return [encoding.toUint8Array(e)]
  },
  bodyOffset: (frame) => skipVarBytes(frame, 0),
}
