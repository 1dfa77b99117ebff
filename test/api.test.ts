/**
 * The document HTTP API (server/http/api.ts): GET state, POST updates,
 * the API key, and its errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { connectClient, whenDoc, whenSynced } from './helpers/clients.js'
import { textUpdate } from './helpers/frames.js'
import { mintToken, TEST_SECRET } from './helpers/tokens.js'

const API_KEY = 'api-key-for-the-tests-0123456789'
let quire: QuireProcess
const running: QuireProcess[] = []
beforeAll(async () => {
  quire = await startQuire({ API_KEY, AUTH_SECRET: TEST_SECRET, MAX_MESSAGE_BYTES: '65536' })
  running.push(quire)
})
afterAll(async () => { await Promise.all(running.map((q) => q.kill())) })

const auth = { authorization: `Bearer ${API_KEY}` }
const state = (q: QuireProcess, name: string, headers: Record<string, string> = auth): Promise<Response> =>
  fetch(`${q.url}/api/documents/${encodeURIComponent(name)}/state`, { headers })
const post = (q: QuireProcess, name: string, body: Uint8Array, headers: Record<string, string> = auth): Promise<Response> =>
  // slice(): a copy on its own ArrayBuffer, which is what fetch's BufferSource accepts.
  fetch(`${q.url}/api/documents/${encodeURIComponent(name)}/updates`, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: body.slice() })
const textOf = async (res: Response): Promise<string> => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, new Uint8Array(await res.arrayBuffer()))
  return doc.getText('t').toString()
}

describe('reading and writing', () => {
  it('POST applies an update (200 once durable) that connected clients receive; GET returns the document', async () => {
    const token = await mintToken({ sub: 'reader', readonlyDocumentNames: ['api/*'] })
    const watcher = connectClient(quire.wsUrl, 'api/doc', { token })
    await whenSynced(watcher, 'a connected reader to sync')
    const res = await post(quire, 'api/doc', textUpdate('seeded by the server'))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true })
    await whenDoc(watcher.doc, () => watcher.text.toString() === 'seeded by the server', 'the POSTed update to reach the connected reader')
    watcher.destroy()

    const got = await state(quire, 'api/doc')
    expect(got.status).toBe(200)
    expect(got.headers.get('content-type')).toBe('application/octet-stream')
    expect(await textOf(got)).toBe('seeded by the server')
  })

  it('an unknown document reads as empty', async () => {
    const got = await state(quire, 'api/nothing-here')
    expect(got.status).toBe(200)
    expect(await textOf(got)).toBe('')
  })

  it('names are percent-encoded like the WebSocket path, slashes included', async () => {
    expect((await post(quire, 'api/deep/name ü', textUpdate('x'))).status).toBe(200)
    const viaSlashes = await fetch(`${quire.url}/api/documents/api/deep/name%20%C3%BC/state`, { headers: auth })
    expect(await textOf(viaSlashes)).toBe('x')
  })

  it('a POSTed update survives kill -9 once answered', async () => {
    const q = await startQuire({ API_KEY })
    running.push(q)
    expect((await post(q, 'api/durable', textUpdate('answered means stored'))).status).toBe(200)
    await q.kill('SIGKILL')
    const again = await q.restart()
    running.push(again)
    expect(await textOf(await state(again, 'api/durable'))).toBe('answered means stored')
  })
})

describe('errors', () => {
  it('401 without the key, with a wrong one, or with another scheme', async () => {
    const refused: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-key-wrong-key-wrong' }, { authorization: `Basic ${API_KEY}` }, { authorization: `Bearer ${API_KEY}x` }]
    for (const headers of refused) {
      expect((await state(quire, 'api/doc', headers)).status).toBe(401)
      expect((await post(quire, 'api/doc', textUpdate('no'), headers)).status).toBe(401)
    }
    expect(await textOf(await state(quire, 'api/doc'))).toBe('seeded by the server')
  })

  it('404 for routes that do not exist (and for documents never created: docs/api.md)', async () => {
    for (const path of ['/api/', '/api/documents/x', '/api/documents/x/other', '/api/other/x/state']) {
      const res = await fetch(`${quire.url}${path}`, { headers: auth })
      expect(res.status, path).toBe(404)
    }
  })

  it('405 for the wrong method, with Allow', async () => {
    const r1 = await fetch(`${quire.url}/api/documents/x/state`, { method: 'POST', headers: auth, body: new Uint8Array([0, 0]) })
    expect(r1.status).toBe(405)
    expect(r1.headers.get('allow')).toBe('GET')
    const r2 = await fetch(`${quire.url}/api/documents/x/updates`, { headers: auth })
    expect(r2.status).toBe(405)
    expect(r2.headers.get('allow')).toBe('POST')
    expect((await fetch(`${quire.url}/api/documents/x/state`, { method: 'DELETE', headers: auth })).status).toBe(405)
  })

  it('400 for invalid names', async () => {
    for (const raw of ['a%2F%2Fb', 'a%2F..%2Fb', '%ZZ', 'a%00b', 'x'.repeat(256)]) {
      expect((await fetch(`${quire.url}/api/documents/${raw}/state`, { headers: auth })).status, raw).toBe(400)
    }
  })

  it('400 for a body that is not a Yjs update, or is empty; nothing of it is kept', async () => {
    const valid = textUpdate('v')
    for (const body of [new Uint8Array([1, 2, 3, 4, 5]), valid.slice(0, valid.length - 2), new Uint8Array()]) {
      const res = await post(quire, 'api/bad-body', body)
      expect(res.status).toBe(400)
      expect((await res.json()).error).toMatch(/not a valid Yjs update/)
    }
    expect(await textOf(await state(quire, 'api/bad-body'))).toBe('')
  })

  it('413 for a body over MAX_MESSAGE_BYTES', async () => {
    const res = await post(quire, 'api/big', textUpdate('b'.repeat(70_000)))
    expect(res.status).toBe(413)
  })
})

describe('who may call it', () => {
  it('open mode (no AUTH_SECRET, no API_KEY): open', async () => {
    const q = await startQuire()
    running.push(q)
    expect((await post(q, 'open', textUpdate('hi'), {})).status).toBe(200)
    expect((await state(q, 'open', {})).status).toBe(200)
  })

  it('AUTH_SECRET without API_KEY: closed to everyone', async () => {
    const q = await startQuire({ AUTH_SECRET: TEST_SECRET })
    running.push(q)
    expect((await state(q, 'x', {})).status).toBe(401)
    expect((await state(q, 'x', { authorization: 'Bearer anything-at-all-really' })).status).toBe(401)
  })
})
