/**
 * The fallback transport's channel (docs/protocol.md, "The fallback
 * transport"): a connection's frames as Server-Sent Events on one long HTTP
 * response, each frame one `data:` line of base64. A broadcast hands every
 * peer the same frame, so its event text is built once for all of them (as
 * ws-frame.ts does for WebSockets). A close is an event `close` with the code
 * and reason, and the response ends.
 */
import type { ServerResponse } from 'node:http'
import { STREAM_EVENT, STREAM_SESSION_HEADER, type StreamClose, type StreamSession } from '../../common/stream.js'
import type { Transport } from '../ops/metrics.js'
import type { Channel } from './connection.js'

/** Response headers of a stream: no caching, no transformation, no buffering by proxies (nginx reads X-Accel-Buffering). */
function streamHeaders (session?: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store, no-transform',
    'x-accel-buffering': 'no',
  }
  if (session !== undefined) headers[STREAM_SESSION_HEADER] = session
  return headers
}

let lastPayload: Uint8Array | null = null
let lastEvent = ''

/** The event carrying `frame`, shared by every peer it goes to. */
export function frameEvent (frame: Uint8Array): string {
  if (frame === lastPayload) return lastEvent
  lastEvent = `data: ${Buffer.from(frame.buffer, frame.byteOffset, frame.length).toString('base64')}\n\n`
  lastPayload = frame
  return lastEvent
}

function namedEvent (name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`
}

/** Answer a stream request with only a close (a refusal): the client reads the code as it would on a WebSocket. */
export function refuseStream (res: ServerResponse, code: number, reason: string): void {
  res.writeHead(200, streamHeaders())
  res.end(namedEvent(STREAM_EVENT.close, { code, reason } satisfies StreamClose))
}

export class StreamChannel implements Channel {
  /** The close this channel ended with, for POSTs that arrive after it. */
  closedWith: StreamClose | null = null

  /** Start the stream on `res` with its session event. */
  constructor (private readonly res: ServerResponse, session: StreamSession) {
    res.writeHead(200, streamHeaders(session.session))
    res.write(namedEvent(STREAM_EVENT.session, session))
  }

  get transport (): Transport { return 'stream' }
  get isOpen (): boolean { return this.closedWith === null && !this.res.destroyed }
  get bufferedAmount (): number { return this.res.writableLength }

  sendShared (frame: Uint8Array): void {
    this.res.write(frameEvent(frame))
  }

  close (code: number, reason: string): void {
    if (this.closedWith !== null) return
    this.closedWith = { code, reason }
    if (this.res.destroyed) return
    this.res.end(namedEvent(STREAM_EVENT.close, this.closedWith))
  }
}
