/**
 * The raw relay: the least a y-websocket server can do, as the bench's floor
 * (docs/benchmarks.md, "The raw relay"). A `ws` server with a room per
 * document (the URL path); every update is kept as an update message,
 * appended to the room's list, and relayed, never parsed as Yjs. Enough of
 * the sync protocol for any y-websocket client: it greets a client with an
 * empty sync step 1 (so a client with content answers with it); a step 1 is
 * answered with every kept update message, then an empty sync step 2
 * (merging them would be Yjs work); a step 2 or update is kept and relayed
 * as an update; awareness frames are relayed as they are. With a data
 * directory, SIGTERM writes the kept messages (length-prefixed) and a room
 * reads them back on its first join, so the relay takes part in restarts.
 */
import { WebSocketServer, type WebSocket } from 'ws'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readVarUint } from '../clients/varint.js'
import { EMPTY_STATE_VECTOR, EMPTY_UPDATE, MESSAGE_AWARENESS, MESSAGE_SYNC, SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE, encodeSyncStep1, encodeSyncStep2, encodeUpdate } from '../../common/messages.js'

const STEP1_EMPTY = encodeSyncStep1(EMPTY_STATE_VECTOR)
const STEP2_EMPTY = encodeSyncStep2(EMPTY_UPDATE)

interface Room { clients: Set<WebSocket>, updates: Uint8Array[] }

/** What the relay does with one received frame: answer the sender, relay to the others, keep an update message. */
export interface RelayAction { reply: Uint8Array[], relay: Uint8Array | null, keep: Uint8Array | null }

/** The relay's whole protocol, given the room's kept update messages (pure, for the tests). */
export function relayFrame (frame: Uint8Array, kept: readonly Uint8Array[]): RelayAction {
  const [type, pos] = readVarUint(frame, 0)
  if (type === MESSAGE_AWARENESS) return { reply: [], relay: frame, keep: null }
  if (type !== MESSAGE_SYNC) return { reply: [], relay: null, keep: null }
  const [sub, at] = readVarUint(frame, pos)
  if (sub === SYNC_STEP1) return { reply: [...kept, STEP2_EMPTY], relay: null, keep: null }
  if (sub !== SYNC_STEP2 && sub !== SYNC_UPDATE) return { reply: [], relay: null, keep: null }
  const [length, start] = readVarUint(frame, at)
  const update = frame.subarray(start, start + length)
  if (length === EMPTY_UPDATE.length && update[0] === 0 && update[1] === 0) return { reply: [], relay: null, keep: null }
  // An update message is relayed as it came (copied: ws may hand out a view of its read buffer); a step 2 becomes one.
  const message = sub === SYNC_UPDATE ? new Uint8Array(frame) : encodeUpdate(update)
  return { reply: [], relay: message, keep: message }
}

/** Length-prefixed update messages: the relay's file format. */
export function packUpdates (updates: readonly Uint8Array[]): Buffer {
  const out: Buffer[] = []
  for (const u of updates) {
    const len = Buffer.alloc(4)
    len.writeUInt32LE(u.length)
    out.push(len, Buffer.from(u.buffer, u.byteOffset, u.length))
  }
  return Buffer.concat(out)
}

export function unpackUpdates (buf: Buffer): Uint8Array[] {
  const updates: Uint8Array[] = []
  for (let pos = 0; pos + 4 <= buf.length;) {
    const length = buf.readUInt32LE(pos)
    updates.push(new Uint8Array(buf.subarray(pos + 4, pos + 4 + length)))
    pos += 4 + length
  }
  return updates
}

export function serveRawRelay (opts: { host: string, port: number, dataDir?: string }): { wss: WebSocketServer, persist (): void } {
  const rooms = new Map<string, Room>()
  const fileOf = (name: string): string => join(opts.dataDir!, encodeURIComponent(name) + '.bin')
  const room = (name: string): Room => {
    let r = rooms.get(name)
    if (r === undefined) {
      const file = opts.dataDir ? fileOf(name) : null
      r = { clients: new Set(), updates: file && existsSync(file) ? unpackUpdates(readFileSync(file)) : [] }
      rooms.set(name, r)
    }
    return r
  }
  const wss = new WebSocketServer({ host: opts.host, port: opts.port, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 })
  wss.on('connection', (ws, req) => {
    const r = room(decodeURIComponent((req.url ?? '/').slice(1).split('?')[0]))
    r.clients.add(ws)
    ws.send(STEP1_EMPTY)
    ws.on('close', () => r.clients.delete(ws))
    ws.on('error', () => ws.terminate())
    ws.on('message', (data: Buffer) => {
      let action: RelayAction
      try {
        action = relayFrame(data, r.updates)
      } catch {
        return ws.terminate()
      }
      for (const f of action.reply) ws.send(f)
      if (action.keep) r.updates.push(action.keep)
      if (action.relay) for (const c of r.clients) if (c !== ws) c.send(action.relay)
    })
  })
  return {
    wss,
    persist () {
      if (!opts.dataDir) return
      mkdirSync(opts.dataDir, { recursive: true })
      for (const [name, r] of rooms) writeFileSync(fileOf(name), packUpdates(r.updates))
    },
  }
}
