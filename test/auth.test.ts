/**
 * Authentication and access (docs/auth.md): HS256 tokens minted with jose,
 * on the query string or an Authorization header, checked on the upgrade
 * before anything is loaded; patterns; read-only connections; expiry during
 * a session; open mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { connectClient, whenAwareness, whenClosed, whenDoc, whenSynced, type TestClient } from './helpers/clients.js'
import { anyFrame, openRaw } from './helpers/raw-socket.js'
import { encodeUpdate, isType, readServerFrame, textUpdate } from './helpers/frames.js'
import { mintToken, nowSeconds, TEST_SECRET } from './helpers/tokens.js'
import { GatedStore } from './helpers/gated-store.js'
import { startInProcess } from './helpers/in-process.js'
import { accessFor } from '../server/auth/access.js'
import { createAuthenticator } from '../server/auth/token.js'
import { loadConfig } from '../server/config.js'
import { createLogger } from '../server/ops/log.js'

let quire: QuireProcess
const clients: TestClient[] = []
function client (doc: string, token?: string): TestClient {
  const c = connectClient(quire.wsUrl, doc, { token })
  clients.push(c)
  return c
}
const hour = (): number => nowSeconds() + 3600

// No clock skew allowance here, so expiry is exact (test/auth-jwks.test.ts covers the skew).
beforeAll(async () => { quire = await startQuire({ AUTH_SECRET: TEST_SECRET, AUTH_CLOCK_SKEW_SECONDS: '0' }) })
afterAll(async () => {
  for (const c of clients) c.destroy()
  await quire.kill()
})

describe('accepted tokens', () => {
  it('on the query string: stock clients co-edit', async () => {
    const token = await mintToken({ sub: 'u1', allowedDocumentNames: ['notes/*'] }, { expiresAt: hour() })
    const a = client('notes/q', token)
    const b = client('notes/q', token)
    await Promise.all([whenSynced(a, 'client a to sync'), whenSynced(b, 'client b to sync')])
    a.text.insert(0, 'signed in')
    await whenDoc(b.doc, () => b.text.toString() === 'signed in', 'a\'s edit to reach b')
  })

  it('in an Authorization: Bearer header', async () => {
    const token = await mintToken({ sub: 'u1', allowedDocumentNames: ['notes/*'] })
    const raw = await openRaw(`${quire.wsUrl}/notes/header`, { Authorization: `Bearer ${token}` })
    await raw.next(isType('sync-step1'), 'the server\'s sync step 1')
    raw.ws.close()
  })
})

describe('refused tokens', () => {
  const doc = 'vault/doc'
  beforeAll(async () => {
    const token = await mintToken({ sub: 'owner', allowedDocumentNames: [doc] })
    const owner = client(doc, token)
    await whenSynced(owner, 'the owner to sync')
    owner.text.insert(0, 'the secret plans')
    // Once another client has it, the server does: there is something to leak.
    const witness = client(doc, token)
    await whenDoc(witness.doc, () => witness.text.toString() === 'the secret plans', 'a second client of the owner to get the text')
  })

  const cases: Array<[string, () => Promise<string | undefined>, number]> = [
    ['no token', async () => undefined, 4401],
    ['not a JWT', async () => 'not-a-token', 4401],
    ['signed with another secret', () => mintToken({ sub: 'x', allowedDocumentNames: ['*'] }, { secret: 'some-other-secret-of-length' }), 4401],
    ['expired', () => mintToken({ sub: 'x', allowedDocumentNames: ['*'] }, { expiresAt: nowSeconds() - 5 }), 4401],
    ['not yet valid', () => mintToken({ sub: 'x', allowedDocumentNames: ['*'], nbf: nowSeconds() + 600 }), 4401],
    ['HS512 instead of HS256', () => mintToken({ sub: 'x', allowedDocumentNames: ['*'] }, { alg: 'HS512' }), 4401],
    ['without sub', () => mintToken({ allowedDocumentNames: ['*'] }), 4401],
    ['covering other documents only', () => mintToken({ sub: 'x', allowedDocumentNames: ['vault/other', 'vaul'], readonlyDocumentNames: ['public/*'] }), 4403],
    ['with no document lists', () => mintToken({ sub: 'x' }), 4403],
  ]
  for (const [what, mint, code] of cases) {
    it(`${what}: ${code} at once, and not one byte of the document`, async () => {
      const token = await mint()
      const raw = await openRaw(`${quire.wsUrl}/${doc}${token === undefined ? '' : `?token=${token}`}`)
      expect((await raw.whenClosed(`the server to refuse a token that is ${what}`)).code).toBe(code)
      expect(raw.frames).toEqual([])
    })
  }

  it('the same in a header', async () => {
    const bad = await mintToken({ sub: 'x', allowedDocumentNames: ['*'] }, { secret: 'some-other-secret-of-length' })
    const raw = await openRaw(`${quire.wsUrl}/${doc}`, { Authorization: `Bearer ${bad}` })
    expect((await raw.whenClosed('the server to refuse a bad token in a header')).code).toBe(4401)
    expect(raw.frames).toEqual([])
  })

  it('a stock client is told why and does not retry', async () => {
    const token = await mintToken({ sub: 'x', allowedDocumentNames: ['elsewhere'] })
    const c = client(doc, token)
    expect((await whenClosed(c, 'the server to refuse the stock client')).code).toBe(4403)
    expect(c.provider.shouldConnect).toBe(false)
    expect(c.text.toString()).toBe('')
  })

  it('refused before any document is loaded or any message read', async () => {
    const store = new GatedStore()
    const q = await startInProcess(store, { AUTH_SECRET: TEST_SECRET })
    try {
      const wrong = await mintToken({ sub: 'x', allowedDocumentNames: ['other'] })
      for (const url of [`${q.wsUrl}/d1`, `${q.wsUrl}/d2?token=garbage`, `${q.wsUrl}/d3?token=${wrong}`]) {
        const raw = await openRaw(url)
        raw.send(encodeUpdate(textUpdate('sneaky')))
        expect([4401, 4403]).toContain((await raw.whenClosed(`the server to refuse ${url}`)).code)
      }
      expect(store.calls).toEqual({ load: 0, append: 0, compact: 0 })
    } finally {
      await q.quire.drain()
    }
  })
})

describe('document name patterns', () => {
  const cases: Array<[string[], string, boolean]> = [
    [['team/*'], 'team/a', true],
    [['team/*'], 'team/a/b/c', true],
    [['team/*'], 'team', false],
    [['team/*'], 'teamx', false],
    [['team*'], 'teamx', true],
    [['*'], 'anything/at/all', true],
    [['exact'], 'exact', true],
    [['exact'], 'exact2', false],
    [['exact'], 'exac', false],
  ]
  for (const [patterns, name, allowed] of cases) {
    it(`${JSON.stringify(patterns)} ${allowed ? 'covers' : 'does not cover'} "${name}"`, () => {
      expect(accessFor(name, patterns, [])).toBe(allowed ? 'write' : 'none')
      expect(accessFor(name, [], patterns)).toBe(allowed ? 'read' : 'none')
    })
  }

  it('allowedDocumentNames wins over readonlyDocumentNames', () => {
    expect(accessFor('a/b', ['a/*'], ['*'])).toBe('write')
    expect(accessFor('z', ['a/*'], ['*'])).toBe('read')
  })

  it('prefixes work end to end', async () => {
    const token = await mintToken({ sub: 'p', allowedDocumentNames: ['team/*'] })
    const ok = client('team/deep/doc', token)
    await whenSynced(ok, 'a client of a document under team/ to sync')
    const raw = await openRaw(`${quire.wsUrl}/teamx?token=${token}`)
    expect((await raw.whenClosed('the server to refuse teamx for team/*')).code).toBe(4403)
  })

  it('the identity carries sub, name and expiry', async () => {
    const auth = createAuthenticator(loadConfig({ AUTH_SECRET: TEST_SECRET, AUTH_CLOCK_SKEW_SECONDS: '0' }), { log: createLogger('silent') })
    const exp = hour()
    const id = await auth.authenticate(await mintToken({ sub: 'u9', name: 'Nine', readonlyDocumentNames: ['r'] }, { expiresAt: exp }), 'r')
    expect(id).toEqual({ userId: 'u9', name: 'Nine', access: 'read', expiresAt: exp * 1000 })
  })
})

describe('read-only connections', () => {
  it('receive the document and share awareness, but their updates are not applied, stored or relayed', async () => {
    const writerToken = await mintToken({ sub: 'w', name: 'Writer', allowedDocumentNames: ['shared/*'] })
    const readerToken = await mintToken({ sub: 'r', name: 'Reader', readonlyDocumentNames: ['shared/*'] })
    const writer = client('shared/ro', writerToken)
    await whenSynced(writer, 'the writer to sync')
    writer.text.insert(0, 'written')
    const reader = client('shared/ro', readerToken)
    await whenDoc(reader.doc, () => reader.text.toString() === 'written', 'the reader to get the writer\'s text')

    // Awareness both ways.
    reader.provider.awareness.setLocalStateField('user', { name: 'Reader' })
    writer.provider.awareness.setLocalStateField('user', { name: 'Writer' })
    await whenAwareness(writer, (s) => s.has(reader.doc.clientID), 'the writer to see the reader\'s presence')
    await whenAwareness(reader, (s) => s.has(writer.doc.clientID), 'the reader to see the writer\'s presence')

    // The reader types; then changes its awareness on the same connection,
    // so once the writer sees that, the server has handled the edit.
    reader.text.insert(0, 'READER WAS HERE ')
    reader.provider.awareness.setLocalStateField('typing', true)
    await whenAwareness(writer, (s) => s.get(reader.doc.clientID)?.typing === true, 'the writer to see the reader typing (sent after its edit)')
    const fresh = client('shared/ro', writerToken)
    await whenSynced(fresh, 'a fresh client to sync')
    expect(fresh.text.toString()).toBe('written')
    expect(writer.text.toString()).toBe('written')

    // A Quire client (?ack=1) is told it reads only; its update is acknowledged and dropped.
    const raw = await openRaw(`${quire.wsUrl}/shared/ro?ack=1&token=${readerToken}`)
    expect(readServerFrame(await raw.next(anyFrame, 'the first frame'))).toEqual({ type: 'session', info: { access: 'read' } })
    raw.send(encodeUpdate(textUpdate('raw reader')))
    await raw.next(isType('ack'), 'the acknowledgement of the read-only update')
    const fresh2 = client('shared/ro', writerToken)
    await whenSynced(fresh2, 'another fresh client to sync')
    expect(fresh2.text.toString()).toBe('written')
    raw.ws.close()
  })
})

describe('expiry during a session', () => {
  it('closes the connection with 4401 when the token runs out', async () => {
    const token = await mintToken({ sub: 'brief', allowedDocumentNames: ['ticking'] }, { expiresAt: nowSeconds() + 2 })
    const c = client('ticking', token)
    await whenSynced(c, 'the client with a 2 s token to sync')
    expect(await whenClosed(c, 'the server to close the connection when its token expires')).toEqual({ code: 4401, reason: 'token expired' })
    expect(c.provider.shouldConnect).toBe(false)
  })
})

describe('open mode', () => {
  it('without AUTH_SECRET or AUTH_JWKS_URL anyone may connect, and the server says so with a warning at start', async () => {
    const open = await startQuire()
    try {
      const warning = open.logs.map((l) => JSON.parse(l)).find((l) => l.level === 40 && /open mode/.test(l.msg))
      expect(warning).toBeDefined()
      const c = connectClient(open.wsUrl, 'anything')
      await whenSynced(c, 'a client without a token to sync')
      c.destroy()
    } finally {
      await open.kill()
    }
  })
})
