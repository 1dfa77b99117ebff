/**
 * QuireSocket.sendShared (server/transport/socket.ts) writes pre-encoded
 * frames straight to the TCP socket, reading ws's internals: `_socket`, and
 * `_sender._state` / `_sender._queue` to know that ws is not queueing. They
 * are not ws's public API, so ws is pinned to an exact version in
 * package.json; this test fails, naming what changed, when an upgrade moves
 * them, before the fast path can misbehave in production.
 */
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { Socket, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { QuireSocket } from '../server/transport/socket.js'
import { within } from './helpers/wait.js'

/** ws's sender state when it writes through synchronously (lib/sender.js: `const DEFAULT = 0`). */
const WS_SENDER_DEFAULT = 0

const pinned = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }).dependencies.ws
const installed = (createRequire(import.meta.url)('ws/package.json') as { version: string }).version

let wss: WebSocketServer
let server: QuireSocket
let client: WebSocket
const received: Buffer[] = []
const arrivals: Array<() => void> = []

/** Resolves once `count` messages in all have reached the client. */
const receivedCount = (count: number): Promise<void> => within(new Promise<void>((resolve) => {
  const check = (): void => { if (received.length >= count) resolve(); else arrivals.push(check) }
  check()
}), 10_000, `${count} messages at the client (got ${received.length})`)

beforeAll(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, WebSocket: QuireSocket })
  await within(new Promise((resolve) => wss.once('listening', resolve)), 10_000, 'the ws server to listen')
  const connected = within(new Promise<QuireSocket>((resolve) => wss.once('connection', resolve)), 10_000, 'the server side of the connection')
  client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false })
  client.on('message', (data: Buffer) => {
    received.push(data)
    for (const wake of arrivals.splice(0)) wake()
  })
  await within(new Promise((resolve) => client.once('open', resolve)), 10_000, 'the client to open')
  server = await connected
})

afterAll(async () => {
  client?.terminate()
  await new Promise((resolve) => wss?.close(resolve))
})

describe('the ws internals QuireSocket.sendShared relies on', () => {
  it('ws is pinned exactly, and the pinned version is the one installed', () => {
    expect(pinned, 'package.json must pin ws to an exact version (no ^ or ~): sendShared reads its internals').toMatch(/^\d+\.\d+\.\d+$/)
    expect(installed, `node_modules has ws ${installed} but package.json pins ${pinned}: run npm ci`).toBe(pinned)
  })

  it('the server socket is a QuireSocket with `_socket`, a net.Socket', () => {
    expect(server).toBeInstanceOf(QuireSocket)
    const socket = (server as unknown as { _socket: unknown })._socket
    expect(socket instanceof Socket, 'ws no longer keeps the TCP socket in `_socket` (a net.Socket)').toBe(true)
  })

  it('`_sender` has a numeric `_state`, DEFAULT (0) when idle, and an array `_queue`, empty when idle', () => {
    const sender = (server as unknown as { _sender?: { _state?: unknown, _queue?: unknown } })._sender
    expect(typeof sender, 'ws no longer keeps its frame writer in `_sender`').toBe('object')
    expect(typeof sender!._state, 'ws\'s sender has no numeric `_state` any more').toBe('number')
    expect(sender!._state, `ws's sender's idle \`_state\` is no longer ${WS_SENDER_DEFAULT} (DEFAULT)`).toBe(WS_SENDER_DEFAULT)
    expect(Array.isArray(sender!._queue), 'ws\'s sender has no array `_queue` any more').toBe(true)
    expect(sender!._queue as unknown[], 'ws\'s sender queues while idle').toHaveLength(0)
  })

  it('frames written by sendShared arrive intact and in order with ws\'s own sends', async () => {
    const payload = (length: number, seed: number): Uint8Array => {
      const p = new Uint8Array(length)
      for (let i = 0; i < length; i++) p[i] = (i * 31 + seed) & 0xff
      return p
    }
    // Each length encoding (7-bit, 16-bit, 64-bit), and ws's sends in between.
    const sent = [payload(5, 1), payload(300, 2), payload(5, 3), payload(70_000, 4), payload(0, 5), payload(200, 6)]
    const start = received.length
    server.sendShared(sent[0])
    server.sendShared(sent[1])
    server.send(sent[2])
    server.sendShared(sent[3])
    server.sendShared(sent[4])
    server.send(sent[5])
    await receivedCount(start + sent.length)
    expect(received.slice(start).map((b) => new Uint8Array(b))).toEqual(sent)
  })
})
