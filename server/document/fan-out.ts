/**
 * Sending updates to a document's peers: merged into as few frames as
 * reasonable, each frame encoded once and handed to every peer
 * (server/transport/ws-frame.ts frames it once for all of them too).
 */
import * as Y from 'yjs'
import { encodeUpdate } from '../../common/messages.js'
import type { Peer } from './peer.js'

/** Updates merged into one relayed frame at most (Y.mergeUpdates grows faster than linearly). */
const MERGE_CHUNK = 64

/** Send `updates` to every peer but `except`. */
export function broadcast (peers: ReadonlySet<Peer>, updates: Uint8Array[], except: Peer | null): void {
  if (updates.length === 0 || peers.size === 0) return
  for (let i = 0; i < updates.length; i += MERGE_CHUNK) {
    for (const update of mergeOrKeep(updates.slice(i, i + MERGE_CHUNK))) {
      const frame = encodeUpdate(update)
      for (const peer of peers) if (peer !== except) peer.send(frame)
    }
  }
}

/**
 * Merge updates into one, or keep them apart if Yjs refuses to merge them:
 * a throw here would stall the write pipeline of the whole document. (Local
 * updates are Yjs-encoded and merge; remote ones come from the store.)
 */
function mergeOrKeep (updates: Uint8Array[]): Uint8Array[] {
  if (updates.length === 1) return updates
  try {
    return [Y.mergeUpdates(updates)]
  } catch {
    return updates
  }
}
