/**
 * A WebSocket spoken by hand over TCP: the request path goes out exactly as
 * given (a WebSocket library would normalise "/a/../b"), frames can break
 * the rules (unmasked, invalid UTF-8), and nothing is answered unless the
 * test does it (a client that ignores the closing handshake).
 */
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { DEADLINE_MS, waitUntil, within } from './wait.js'

export interface TcpFrame { opcode: number, payload: Buffer }

export interface TcpWebSocket {
  socket: Socket
  /** HTTP status of the upgrade answer (101 when it was accepted). */
  status: number
  frames: TcpFrame[]
  /** Resolves with the server's close frame (code, reason), or null if the TCP connection ended without one. */
  whenClosed (what: string, timeoutMs?: number): Promise<{ code: number, reason: string } | null>
  send (opcode: number, payload: Uint8Array, opts?: { mask?: boolean }): void
  /** Resolves once at least `count` frames have arrived. */
  received (count: number, what: string, timeoutMs?: number): Promise<void>
}

export function openTcpWebSocket (port: number, path: string, headers: Record<string, string> = {}): Promise<TcpWebSocket> {
  return within(new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    socket.on('connect', () => socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`))
    socket.on('error', reject)
    let buf = Buffer.alloc(0)
    let ws: TcpWebSocket | null = null
    let resolveClosed!: (v: { code: number, reason: string } | null) => void
    const closed = new Promise<{ code: number, reason: string } | null>((r) => { resolveClosed = r })
    socket.on('close', () => resolveClosed(null))
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (ws === null) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const status = Number(buf.subarray(0, end).toString('latin1').split(' ')[1])
        buf = buf.subarray(end + 4)
        const frames: TcpFrame[] = []
        ws = {
          socket,
          status,
          frames,
          whenClosed: (what, timeoutMs = DEADLINE_MS) => within(closed, timeoutMs, what),
          send: (opcode, payload, opts = {}) => socket.write(encodeFrame(opcode, payload, opts.mask ?? true)),
          // Registered after the parsing 'data' listener above, so a chunk's frames are counted before the check.
          received: (count, what, timeoutMs = DEADLINE_MS) => waitUntil((on) => {
            socket.on('data', on)
            return () => socket.off('data', on)
          }, () => frames.length >= count, what, timeoutMs),
        }
        resolve(ws)
      }
      for (;;) {
        const frame = decodeFrame(buf)
        if (frame === null) break
        buf = buf.subarray(frame.length)
        ws.frames.push(frame.frame)
        if (frame.frame.opcode === 8) {
          const p = frame.frame.payload
          resolveClosed({ code: p.length >= 2 ? p.readUInt16BE(0) : 1005, reason: p.subarray(2).toString() })
        }
      }
    })
  }), DEADLINE_MS, `the answer to a WebSocket upgrade of ${path} on port ${port}`)
}

function encodeFrame (opcode: number, payload: Uint8Array, mask: boolean): Buffer {
  const len = payload.length
  const head = len < 126 ? [0x80 | opcode, (mask ? 0x80 : 0) | len]
    : len < 65536 ? [0x80 | opcode, (mask ? 0x80 : 0) | 126, len >> 8, len & 255]
      : [0x80 | opcode, (mask ? 0x80 : 0) | 127, 0, 0, 0, 0, (len >>> 24) & 255, (len >> 16) & 255, (len >> 8) & 255, len & 255]
  if (!mask) return Buffer.concat([Buffer.from(head), payload])
  const key = randomBytes(4)
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3]
  return Buffer.concat([Buffer.from(head), key, body])
}

function decodeFrame (buf: Buffer): { frame: TcpFrame, length: number } | null {
  if (buf.length < 2) return null
  let len = buf[1] & 0x7f
  let offset = 2
  if (len === 126) {
    if (buf.length < 4) return null
    len = buf.readUInt16BE(2)
    offset = 4
  } else if (len === 127) {
    if (buf.length < 10) return null
    len = Number(buf.readBigUInt64BE(2))
    offset = 10
  }
  if (buf.length < offset + len) return null
  return { frame: { opcode: buf[0] & 0x0f, payload: buf.subarray(offset, offset + len) }, length: offset + len }
}
