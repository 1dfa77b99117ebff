/**
 * What the provider does with each message from the server (docs/protocol.md,
 * "Messages"): sync, awareness, queries, auth refusals, and Quire's
 * acknowledgements and session message.
 */
import type * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as authProtocol from 'y-protocols/auth'
import * as awarenessProtocol from 'y-protocols/awareness'
import {
  encodeAwareness, MESSAGE_AUTH, MESSAGE_AWARENESS, MESSAGE_QUERY_AWARENESS, MESSAGE_QUIRE_ACK, MESSAGE_QUIRE_SESSION,
  MESSAGE_SYNC, SYNC_STEP1, SYNC_STEP2,
} from '@quire/common'
import type { SavedState } from './saved-state.js'
import type { Access } from './provider-options.js'

/** The provider, as the messages see it. */
export interface MessageContext {
  readonly ydoc: Y.Doc
  readonly awareness: awarenessProtocol.Awareness
  /** The origin of changes that came from the server (not sent back). */
  readonly origin: unknown
  readonly savedState: SavedState
  send (frame: Uint8Array): void
  /** Send an update-carrying sync message (the server counts those for its acks); `answersStep1`: it answers the server's step 1. */
  sendCounted (frame: Uint8Array, answersStep1: boolean): void
  /** The server refused us in an auth message. */
  refused (reason: string): void
  /** The server answered our step 1 (a sync step 2). */
  synced (): void
  /** The session message said what we may do. */
  access (access: Access): void
}

export function receiveMessage (ctx: MessageContext, data: Uint8Array): void {
  const decoder = decoding.createDecoder(data)
  let type: number
  try {
    type = decoding.readVarUint(decoder)
  } catch {
    return
  }
  ctx.savedState.firstMessage(type === MESSAGE_QUIRE_SESSION)
  try {
    switch (type) {
      case MESSAGE_SYNC: receiveSync(ctx, decoder); break
      case MESSAGE_AWARENESS:
        awarenessProtocol.applyAwarenessUpdate(ctx.awareness, decoding.readVarUint8Array(decoder), ctx.origin)
        break
      case MESSAGE_QUERY_AWARENESS:
        ctx.send(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(ctx.awareness, [ctx.ydoc.clientID])))
        break
      case MESSAGE_AUTH:
        authProtocol.readAuthMessage(decoder, ctx.ydoc, (_doc, reason) => ctx.refused(reason))
        break
      case MESSAGE_QUIRE_ACK:
        ctx.savedState.acknowledged(decoding.readVarUint(decoder))
        break
      case MESSAGE_QUIRE_SESSION: {
        const info = JSON.parse(decoding.readVarString(decoder)) as { access?: unknown }
        ctx.access(info.access === 'read' ? 'read' : 'write')
        break
      }
      default:
        // A newer server may know more; an unknown message is not an error.
        break
    }
  } catch (err) {
    console.warn('quire: ignored a malformed message from the server', err)
  }
}

function receiveSync (ctx: MessageContext, decoder: decoding.Decoder): void {
  const reply = encoding.createEncoder()
  encoding.writeVarUint(reply, MESSAGE_SYNC)
  const sub = syncProtocol.readSyncMessage(decoder, reply, ctx.ydoc, ctx.origin)
  if (sub === SYNC_STEP1) {
    // Our answer carries everything the server lacks, edits made offline included.
    ctx.sendCounted(encoding.toUint8Array(reply), true)
  } else if (sub === SYNC_STEP2) {
    ctx.synced()
  }
}
