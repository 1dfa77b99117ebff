/**
 * Server-to-client WebSocket frames, encoded once per payload.
 *
 * A document broadcasts the same payload (one Uint8Array) to every peer.
 * Frames a server sends are unmasked (RFC 6455 §5.1), so the bytes on the
 * wire — header plus payload — are identical for every peer: they are built
 * once and the same Buffer is written to each peer's socket, instead of ws
 * framing it again per peer (a header allocation, an options object and a
 * corked two-buffer write each time).
 *
 * Only the last payload is remembered: a broadcast sends one frame to all its
 * peers before the next frame is built, which is all the sharing there is.
 * Holding one frame (even a large state frame) until the next send is cheap.
 */

/** Opcode 0x2 (binary) with FIN: a whole binary message in one frame. */
const FIN_BINARY = 0x82
/**
 * Payloads up to this size are copied behind their header into one buffer
 * (one write); bigger ones are written as header + payload without copying.
 */
const COPY_LIMIT = 16 * 1024

/** What to write to the socket for one message: one buffer, or a header and the payload. */
export type WireFrame = Buffer | [header: Buffer, payload: Buffer]

let lastPayload: Uint8Array | null = null
let lastFrame: WireFrame | null = null

/** The frame carrying `payload` as one binary message, shared by every peer it goes to. */
export function wireFrame (payload: Uint8Array): WireFrame {
  if (payload === lastPayload) return lastFrame!
  const frame = encodeFrame(payload)
  lastPayload = payload
  lastFrame = frame
  return frame
}

function encodeFrame (payload: Uint8Array): WireFrame {
  const length = payload.length
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10
  if (length <= COPY_LIMIT) {
    const frame = Buffer.allocUnsafe(headerLength + length)
    writeHeader(frame, length)
    frame.set(payload, headerLength)
    return frame
  }
  const header = Buffer.allocUnsafe(headerLength)
  writeHeader(header, length)
  return [header, Buffer.from(payload.buffer, payload.byteOffset, length)]
}

function writeHeader (target: Buffer, length: number): void {
  target[0] = FIN_BINARY
  if (length < 126) {
    target[1] = length
  } else if (length < 65536) {
    target[1] = 126
    target.writeUInt16BE(length, 2)
  } else {
    target[1] = 127
    target.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    target.writeUInt32BE(length >>> 0, 6)
  }
}
