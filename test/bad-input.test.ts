/**
 * Bad input (docs/protocol.md, limits and close codes): invalid document names, malformed frames,
 * over-size messages and floods each get their close code, for that
 * connection only; two stock clients on the same document never notice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { connectClient, whenClosed, whenDoc, whenSynced, type TestClient } from './helpers/clients.js'
import { openRaw } from './helpers/raw-socket.js'
import { openTcpWebSocket } from './helpers/raw-tcp.js'
import { EMPTY_AWARENESS, encodeUpdate, isType, readServerFrame, textUpdate, varUint } from './helpers/frames.js'
import { readMetrics } from './helpers/metrics.js'
import { GatedStore } from './helpers/gated-store.js'
import { startInProcess, type InProcessQuire } from './helpers/in-process.js'
import { docNameFromPath } from '../common/doc-name.js'

const MAX = 65_536
let quire: QuireProcess
let a: TestClient
let b: TestClient
const bystanderCloses: number[] = []

beforeAll(async () => {
  quire = await startQuire({ MAX_MESSAGE_BYTES: String(MAX), RATE_LIMIT_PER_SECOND: '50', RATE_LIMIT_BURST: '100' })
  a = connectClient(quire.wsUrl, 'bystanders')
  b = connectClient(quire.wsUrl, 'bystanders')
  for (const c of [a, b]) c.provider.on('connection-close', (e: { code: number } | null) => bystanderCloses.push(e?.code ?? 0))
  await Promise.all([whenSynced(a, 'bystander a to sync'), whenSynced(b, 'bystander b to sync')])
})
afterAll(async () => {
  a.destroy()
  b.destroy()
  await quire.kill()
})

/** The bystanders still co-edit, and neither was ever disconnected. */
async function bystandersFine (tag: string): Promise<void> {
  a.text.insert(a.text.length, `[${tag}]`)
  await whenDoc(b.doc, () => b.text.toString().includes(`[${tag}]`), `bystander a's edit [${tag}] to reach b`)
  expect(bystanderCloses).toEqual([])
}

describe('document names', () => {
  const invalid: Array<[string, string]> = [
    ['empty', '/'],
    ['256 bytes', '/' + 'a'.repeat(256)],
    ['256 bytes of UTF-8', '/' + encodeURIComponent('é'.repeat(128))],
    ['an empty segment', '/a//b'],
    ['a trailing slash', '/a/'],
    ['a leading empty segment', '//a'],
    ['"."', '/.'],
    ['".."', '/..'],
    ['"." inside', '/a/./b'],
    ['".." inside', '/a/../b'],
    ['percent-encoded ".."', '/a/%2e%2e/b'],
    ['percent-encoded empty segment', '/a%2F%2Fb'],
    ['NUL', '/a%00b'],
    ['newline', '/a%0Ab'],
    ['DEL', '/a%7Fb'],
    ['a C1 control', '/a%C2%85b'],
    ['a lone "%"', '/a%'],
    ['"%ZZ"', '/%ZZ'],
    ['a cut UTF-8 sequence', '/%E0%A4%A'],
    ['invalid UTF-8', '/%FF%FE'],
    ['an encoded lone surrogate', '/%ED%A0%80'],
  ]
  const valid: Array<[string, string, string]> = [
    ['255 bytes', '/' + 'a'.repeat(255), 'a'.repeat(255)],
    ['254 bytes of UTF-8', '/' + encodeURIComponent('é'.repeat(127)), 'é'.repeat(127)],
    ['segments, spaces and emoji', '/team/' + encodeURIComponent('my notes 🎉'), 'team/my notes 🎉'],
    ['a query string, which is not part of the name', '/doc?token=x&ack=1', 'doc'],
  ]

  for (const [what, path] of invalid) {
    it(`refuses ${what} (${path.slice(0, 24)}) with 4400 (unit)`, () => {
      expect(docNameFromPath(path)).toBeNull()
    })
  }
  for (const [what, path, name] of valid) {
    it(`accepts ${what} (unit)`, () => {
      expect(docNameFromPath(path)).toBe(name)
    })
  }

  describe('over the wire', () => {
    let inProcess: InProcessQuire
    const store = new GatedStore()
    beforeAll(async () => { inProcess = await startInProcess(store) })
    afterAll(async () => { await inProcess.quire.drain() })

    it('every invalid name is closed with 4400 before anything loads, on a real process and in process', async () => {
      for (const port of [quire.port, inProcess.port]) {
        for (const [what, path] of invalid) {
          const ws = await openTcpWebSocket(port, path)
          expect(ws.status, what).toBe(101)
          expect(await ws.whenClosed(`the server to close a connection to ${what}`), what).toMatchObject({ code: 4400 })
          expect(ws.frames.map((f) => f.opcode), what).toEqual([8])
          ws.socket.destroy()
        }
      }
      expect(store.calls.load).toBe(0)
    })

    it('valid edge cases are served', async () => {
      for (const [what, path] of valid) {
        const ws = await openTcpWebSocket(quire.port, path)
        expect(ws.status, what).toBe(101)
        await ws.received(1, `the first frame on a connection to ${what}`)
        expect(ws.frames[0].opcode, what).toBe(2)
        ws.socket.destroy()
      }
    })
  })
})

describe('malformed messages', () => {
  const valid = textUpdate('valid update')
  const truncatedUpdate = valid.slice(0, valid.length - 3)
  const awareness = (json: string): number[] => [1, ...varUint(json.length + 4), 1, 5, 1, ...varUint(json.length), ...new TextEncoder().encode(json)]
  const frames: Array<[string, Uint8Array | string]> = [
    ['an empty frame', new Uint8Array()],
    ['an unknown message type', new Uint8Array([7])],
    ['a Quire server-only type from a client', new Uint8Array([100, 1])],
    ['an over-long varint', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
    ['a sync message cut after its type', new Uint8Array([0])],
    ['an unknown sync type', new Uint8Array([0, 9, 0])],
    ['a sync step 1 without its state vector', new Uint8Array([0, 0])],
    ['a length prefix past the end', new Uint8Array([0, 2, 5, 1])],
    ['a huge length prefix', new Uint8Array([0, 2, ...varUint(2 ** 31), 1, 2, 3])],
    ['bytes after the message', new Uint8Array([0, 1, 2, 0, 0, 99])],
    ['a malformed state vector', new Uint8Array([0, 0, 3, 0xff, 0xff, 0xff])],
    ['a garbage update', new Uint8Array([0, 2, ...varUint(truncatedUpdate.length), ...truncatedUpdate])],
    ['awareness with broken JSON', new Uint8Array(awareness('{"user":'))],
    ['awareness whose state is a number', new Uint8Array(awareness('42'))],
    ['awareness whose state is a string', new Uint8Array(awareness('"hi"'))],
    ['awareness cut short', new Uint8Array([1, 10, 1, 5, 1])],
    ['awareness claiming millions of entries', new Uint8Array([1, 5, ...varUint(5_000_000), 1])],
    ['a text frame', 'hello'],
  ]
  for (const [what, frame] of frames) {
    it(`${what}: 4400 for that connection only`, async () => {
      const raw = await openRaw(`${quire.wsUrl}/bystanders`)
      await raw.next(isType('sync-step1'), 'the server\'s sync step 1')
      raw.send(frame)
      expect((await raw.whenClosed(`the server to close the connection after ${what}`)).code).toBe(4400)
    })
  }

  it('frames that break the WebSocket rules themselves also get 4400', async () => {
    const cases: Array<[string, number, Uint8Array, boolean]> = [
      ['an unmasked client frame', 2, new Uint8Array([3]), false],
      ['a text frame that is not UTF-8', 1, new Uint8Array([0xff, 0xfe, 0xfd]), true],
      ['a reserved opcode', 3, new Uint8Array([1]), true],
    ]
    for (const [what, opcode, payload, mask] of cases) {
      const ws = await openTcpWebSocket(quire.port, '/bystanders')
      ws.send(opcode, payload, { mask })
      expect(await ws.whenClosed(`the server to close the connection after ${what}`), what).toMatchObject({ code: 4400 })
      ws.socket.destroy()
    }
  })

  it('the bystanders noticed none of it, and closes are counted by code', async () => {
    await bystandersFine('malformed')
    const m = await readMetrics(quire.url)
    expect(m.get('quire_connection_closes_total{code="4400"}')).toBeGreaterThanOrEqual(frames.length + 3)
  })
})

describe('size limit (MAX_MESSAGE_BYTES)', () => {
  it('a frame over the limit gets 4413; one under it is accepted', async () => {
    const under = await openRaw(`${quire.wsUrl}/big?ack=1`)
    under.send(encodeUpdate(textUpdate('u'.repeat(MAX - 100))))
    await under.next(isType('ack'), 'the acknowledgement of an update just under the limit')
    under.ws.close()

    const over = await openRaw(`${quire.wsUrl}/big`)
    over.send(encodeUpdate(textUpdate('o'.repeat(MAX + 10))))
    expect(await over.whenClosed('the server to close the connection after a frame over the limit')).toEqual({ code: 4413, reason: 'message too large' })
  })

  it('a message over the limit in fragments gets 4413 too', async () => {
    const raw = await openRaw(`${quire.wsUrl}/big`)
    const half = new Uint8Array(MAX / 2 + 100)
    raw.ws.send(half, { binary: true, fin: false })
    raw.ws.send(half, { binary: true, fin: true })
    expect((await raw.whenClosed('the server to close the connection after a fragmented message over the limit')).code).toBe(4413)
  })

  it('a stock client whose edit is too big is told so and does not reconnect', async () => {
    const c = connectClient(quire.wsUrl, 'big')
    await whenSynced(c, 'the client to sync')
    const closed = whenClosed(c, 'the server to close the client after its too big edit')
    c.text.insert(0, 'x'.repeat(MAX * 2))
    expect((await closed).code).toBe(4413)
    expect(c.provider.shouldConnect).toBe(false)
    c.destroy()
    // Nothing of it was kept.
    const d = connectClient(quire.wsUrl, 'big')
    await whenSynced(d, 'a new client to sync')
    expect(d.text.toString()).not.toContain('xxxx')
    d.destroy()
    await bystandersFine('size')
    const m = await readMetrics(quire.url)
    expect(m.get('quire_connection_closes_total{code="4413"}')).toBeGreaterThanOrEqual(3)
  })
})

describe('rate limit (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST)', () => {
  it('a client flooding messages gets 4429; the others carry on', async () => {
    const raw = await openRaw(`${quire.wsUrl}/bystanders`)
    await raw.next(isType('sync-step1'), 'the server\'s sync step 1')
    for (let i = 0; i < 500; i++) raw.send(EMPTY_AWARENESS)
    expect(await raw.whenClosed('the server to close a client flooding messages')).toEqual({ code: 4429, reason: 'message rate limit exceeded' })
    await bystandersFine('rate')
  })

  it('a burst within the limit is fine', async () => {
    const raw = await openRaw(`${quire.wsUrl}/calm?ack=1`)
    for (let i = 0; i < 50; i++) raw.send(encodeUpdate(textUpdate(`${i}`)))
    await raw.next((f) => { const m = readServerFrame(f); return m.type === 'ack' && m.count === 50 }, 'the acknowledgement of all 50 updates')
    expect(raw.ws.readyState).toBe(WebSocket.OPEN)
    raw.ws.close()
  })
})

describe('after all that', () => {
  it('the server is healthy and its document intact', async () => {
    expect(quire.proc.exitCode).toBeNull()
    expect((await fetch(`${quire.url}/healthz`)).status).toBe(200)
    const c = connectClient(quire.wsUrl, 'bystanders')
    await whenSynced(c, 'a new client of the bystanders\' document to sync')
    expect(Y.encodeStateVector(c.doc)).toEqual(Y.encodeStateVector(a.doc))
    c.destroy()
  })
})
