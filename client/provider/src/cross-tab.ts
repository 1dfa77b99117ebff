/**
 * Tabs of one browser that edit the same document exchange updates and
 * awareness over a BroadcastChannel: instant, and it works while offline.
 * Everything applied from here carries the provider as its origin, so it is
 * neither sent to the server (the tab that made it does that) nor echoed.
 */
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'
import { encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate, MESSAGE_AWARENESS, MESSAGE_QUERY_AWARENESS, MESSAGE_SYNC, QUERY_AWARENESS_FRAME } from '@quire/common'

export class CrossTab {
  private readonly channel: BroadcastChannel

  constructor (name: string, private readonly ydoc: Y.Doc, private readonly awareness: awarenessProtocol.Awareness, private readonly origin: unknown) {
    this.channel = new BroadcastChannel(name)
    this.channel.onmessage = (event: MessageEvent) => {
      if (event.data instanceof Uint8Array) this.receive(event.data)
    }
    // Introduce ourselves: our state, a request for theirs, and who we are.
    this.post(encodeSyncStep1(Y.encodeStateVector(ydoc)))
    this.post(encodeSyncStep2(Y.encodeStateAsUpdate(ydoc)))
    this.post(QUERY_AWARENESS_FRAME)
    this.postOwnAwareness()
  }

  update (update: Uint8Array): void {
    this.post(encodeUpdate(update))
  }

  awarenessUpdate (update: Uint8Array): void {
    this.post(encodeAwareness(update))
  }

  close (): void {
    this.channel.close()
  }

  private postOwnAwareness (): void {
    if (this.awareness.getLocalState() === null) return
    this.post(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.ydoc.clientID])))
  }

  private receive (data: Uint8Array): void {
    const decoder = decoding.createDecoder(data)
    try {
      const type = decoding.readVarUint(decoder)
      if (type === MESSAGE_SYNC) {
        const reply = encoding.createEncoder()
        encoding.writeVarUint(reply, MESSAGE_SYNC)
        syncProtocol.readSyncMessage(decoder, reply, this.ydoc, this.origin)
        if (encoding.length(reply) > 1) this.post(encoding.toUint8Array(reply))
      } else if (type === MESSAGE_AWARENESS) {
        awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), this.origin)
      } else if (type === MESSAGE_QUERY_AWARENESS) {
        this.postOwnAwareness()
      }
    } catch (err) {
      console.warn('quire: ignored a malformed message from another tab', err)
    }
  }

  private post (frame: Uint8Array): void {
    this.channel.postMessage(frame)
  }
}
