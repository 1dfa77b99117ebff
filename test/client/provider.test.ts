/**
 * Quire's client provider against real Quire processes (Node WebSocket from
 * `ws`, no BroadcastChannel): acknowledgements and saved state, interplay
 * with a stock y-websocket client, the token callback on every connect and
 * before expiry, read-only sessions, and no reconnect after a 44xx close.
 */
import * as Y from 'yjs'
import WS from 'ws'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FOREIGN_TOKEN, QuireProvider, type QuireProviderOptions } from '../../client/provider/src/quire-provider.js'
import { startQuire, type QuireProcess } from '../../harness/quire.js'
import { connectClient, whenAwareness, whenDoc, whenSynced, type TestClient } from '../helpers/clients.js'
import { whenProvider } from '../helpers/provider-events.js'
import { DEADLINE_MS, within } from '../helpers/wait.js'
import { CLOSE, retryAfterOf } from '../../common/close-codes.js'
import type { CloseInfo } from '../../client/provider/src/quire-provider.js'

const SECRET = 'provider-test-secret-0123456789'
let open: QuireProcess
let secured: QuireProcess
const cleanup: Array<() => void> = []

beforeAll(async () => {
  [open, secured] = await Promise.all([startQuire(), startQuire({ AUTH_SECRET: SECRET })])
})
afterAll(async () => {
  for (const fn of cleanup) fn()
  await Promise.all([open?.kill(), secured?.kill()])
})

let sockets = 0
class CountingWebSocket extends WS {
  constructor (...args: ConstructorParameters<typeof WS>) {
    super(...args)
    sockets++
  }
}

function provider (server: QuireProcess, doc: string, opts: Partial<QuireProviderOptions> = {}): QuireProvider {
  const p = new QuireProvider({
    server: server.wsUrl,
    doc,
    ydoc: new Y.Doc(),
    crossTab: false,
    WebSocket: CountingWebSocket as unknown as typeof WebSocket,
    ...opts,
  })
  cleanup.push(() => { p.destroy(); p.ydoc.destroy() })
  return p
}

function stock (server: QuireProcess, doc: string, token?: string): TestClient {
  const c = connectClient(server.wsUrl, doc, { token })
  cleanup.push(() => c.destroy())
  return c
}

const when = whenProvider

const sign = (claims: Record<string, unknown>, expiresInSeconds?: number): Promise<string> => {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(typeof claims.sub === 'string' ? claims.sub : 'user-1')
  if (expiresInSeconds !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
  return jwt.sign(new TextEncoder().encode(SECRET))
}

describe('QuireProvider', () => {
  it('reports saved only once the server acknowledged, and syncs with a stock client', async () => {
    const p = provider(open, 'provider/saved')
    await when(p, 'synced', () => p.synced, 'the provider to sync')
    await when(p, 'saved', () => p.saved, 'the provider to be saved after its sync')
    const other = stock(open, 'provider/saved')
    await whenSynced(other, 'a stock client to sync')

    p.ydoc.getText('t').insert(0, 'hello')
    expect(p.saved).toBe(false)
    await when(p, 'saved', () => p.saved, 'the server to acknowledge the edit')
    await whenDoc(other.doc, () => other.text.toString() === 'hello', 'the provider\'s edit to reach the stock client')

    other.text.insert(5, ' world')
    await whenDoc(p.ydoc, () => p.ydoc.getText('t').toString() === 'hello world', 'the stock client\'s edit to reach the provider')
    expect(p.saved).toBe(true)
  })

  it('shares its awareness, and takes it away when destroyed', async () => {
    const p = provider(open, 'provider/awareness')
    const other = stock(open, 'provider/awareness')
    await Promise.all([when(p, 'synced', () => p.synced, 'the provider to sync'), whenSynced(other, 'a stock client to sync')])
    p.awareness.setLocalStateField('user', { name: 'Node' })
    const id = p.ydoc.clientID
    await whenAwareness(other, (s) => (s.get(id)?.user as { name?: string } | undefined)?.name === 'Node', 'the stock client to see the provider\'s user')
    p.destroy()
    await whenAwareness(other, (s) => !s.has(id), 'the provider\'s state to go from the stock client once destroyed')
  })

  it('asks for a token on every connect and reconnects after a server restart', async () => {
    let asked = 0
    const p = provider(open, 'provider/restart', { getToken: () => `token-${++asked}`, backoff: { baseMs: 50, maxMs: 200 } })
    await when(p, 'synced', () => p.synced, 'the provider to sync')
    expect(asked).toBe(1)
    await open.kill('SIGKILL')
    await when(p, 'status', () => p.status === 'offline', 'the provider to go offline when the server dies')
    p.ydoc.getText('t').insert(0, 'while down')
    expect(p.saved).toBe(false)
    open = await open.restart()
    await when(p, 'saved', () => p.synced && p.saved, 'the provider to reconnect and have its offline edit acknowledged')
    expect(asked).toBeGreaterThanOrEqual(2)
    const check = stock(open, 'provider/restart')
    await whenDoc(check.doc, () => check.text.toString() === 'while down', 'a stock client to get the edit made while the server was down')
  })

  it('reconnects at once when the page becomes visible or the browser comes online, not after its backoff', async () => {
    const server = await startQuire()
    cleanup.push(() => { void server.kill() })
    // The page around the provider: it listens to these at construction.
    const page = new EventTarget()
    const tab = Object.assign(new EventTarget(), { visibilityState: 'hidden' })
    const globals = globalThis as unknown as { window?: EventTarget, document?: EventTarget }
    globals.window = page
    globals.document = tab
    let p: QuireProvider
    try {
      // A backoff this long never fires within the test: only the page events can bring it back.
      p = provider(server, 'provider/wake', { backoff: { baseMs: 600_000, maxMs: 600_000 } })
    } finally {
      delete globals.window
      delete globals.document
    }
    await when(p, 'synced', () => p.synced, 'the provider to sync')
    let current = server
    for (const wake of [() => { tab.visibilityState = 'visible'; tab.dispatchEvent(new Event('visibilitychange')) }, () => page.dispatchEvent(new Event('online'))]) {
      await current.kill('SIGKILL')
      await when(p, 'status', () => p.status === 'offline', 'the provider to go offline when the server dies')
      current = await current.restart()
      cleanup.push(() => { void current.kill() })
      wake()
      await when(p, 'status', () => p.status === 'connected', 'the provider to reconnect on the page event (its backoff is 10 minutes)')
    }
  })

  it('waits at least a server\'s retry-after hint before reconnecting, however short its own backoff', async () => {
    // One new connection a second: the stock client takes it, the provider is told when to come back.
    const server = await startQuire({ MAX_NEW_CONNECTIONS_PER_SECOND: '1', MAX_NEW_CONNECTIONS_BURST: '1' })
    cleanup.push(() => { void server.kill() })
    await whenSynced(stock(server, 'provider/hint'), 'a stock client to take the one connection the budget has')
    const p = provider(server, 'provider/hint', { backoff: { baseMs: 1, maxMs: 1 }, connect: false })
    const closed = new Promise<CloseInfo & { at: number, sockets: number }>((resolve) => {
      p.once('connection-close', (info) => resolve({ ...info, at: performance.now(), sockets }))
    })
    p.connect()
    const refusal = await within(closed, DEADLINE_MS, 'the provider to be refused')
    const hint = retryAfterOf(refusal.reason)
    expect(refusal.code).toBe(CLOSE.unavailable)
    expect(hint).toBeGreaterThan(0)
    await whenProvider(p, 'synced', () => p.synced, 'the provider to sync once it came back', 10_000)
    const waited = performance.now() - refusal.at
    expect(waited).toBeGreaterThanOrEqual(hint!)
    // One attempt after the refusal, not a volley of 1 ms retries.
    expect(sockets - refusal.sockets).toBe(1)
  })

  it('fetches a fresh token before the current one expires', async () => {
    const tokens: string[] = []
    const p = provider(secured, 'provider/refresh', {
      getToken: async () => {
        const t = await sign({ allowedDocumentNames: ['provider/*'] }, 3)
        tokens.push(t)
        return t
      },
      tokenRefreshMarginMs: 1500,
    })
    let refusals = 0
    p.on('connection-close', ({ code }: { code: number }) => { if (code === 4401) refusals++ })
    await when(p, 'synced', () => p.synced, 'the provider to sync')
    await when(p, 'synced', () => tokens.length >= 2 && p.synced, 'the provider to sync again with a refreshed token')
    expect(refusals).toBe(0)
  })

  it('turns read-only when the server says so', async () => {
    const p = provider(secured, 'provider/read', { token: await sign({ readonlyDocumentNames: ['provider/*'] }) })
    await when(p, 'access', () => p.access === 'read', 'the server to tell the provider it reads only')
    await when(p, 'synced', () => p.synced, 'the read-only provider to sync')
  })

  it('stops for good on a 44xx close and says why', async () => {
    const before = sockets
    const p = provider(secured, 'elsewhere/doc', { token: await sign({ allowedDocumentNames: ['provider/*'] }), backoff: { baseMs: 1, maxMs: 1 } })
    const info = await when(p, 'stopped', () => p.stoppedBy, 'the provider to stop on the 4403')
    expect(info.code).toBe(4403)
    expect(info.reason).toMatch(/does not cover/)
    expect(p.status).toBe('offline')
    expect((p as unknown as { link: { reconnectTimer: unknown } }).link.reconnectTimer).toBeNull()
    expect(sockets - before).toBe(1)
  })

  it('empties its document on a 4403 for an uncovered document, here only, and never connects again', async () => {
    let token = await sign({ allowedDocumentNames: ['provider/*'] })
    const p = provider(secured, 'provider/revoked', { getToken: () => token })
    await when(p, 'synced', () => p.synced, 'the provider to sync')
    p.ydoc.getText('t').insert(0, 'kept on the server')
    p.ydoc.getMap('m').set('k', 'v')
    await when(p, 'saved', () => p.saved, 'the edits to be saved')

    token = await sign({ allowedDocumentNames: ['elsewhere/*'] })
    p.disconnect()
    p.connect()
    const reason = await when(p, 'cleared', () => p.cleared, 'the document to be cleared after the 4403')
    expect(reason).toBe('forbidden')
    expect(p.stoppedBy?.code).toBe(4403)
    expect(p.ydoc.getText('t').toString()).toBe('')
    expect(p.ydoc.getMap('m').size).toBe(0)

    const before = sockets
    token = await sign({ allowedDocumentNames: ['provider/*'] })
    p.connect()
    expect(p.status).toBe('offline')
    const check = stock(secured, 'provider/revoked', token)
    await whenDoc(check.doc, () => check.text.toString() === 'kept on the server', 'the server to still hold the text')
    expect(sockets - before).toBe(0)
  })

  it('refuses, without connecting, a token for someone else than its first one', async () => {
    let token = await sign({ allowedDocumentNames: ['provider/*'] })
    const p = provider(secured, 'provider/foreign', { getToken: () => token })
    await when(p, 'synced', () => p.synced, 'the provider to sync')
    expect(p.tokenUser).toEqual({ id: 'user-1', name: null })
    token = await sign({ sub: 'user-2', name: 'Someone Else', allowedDocumentNames: ['provider/*'] })
    const before = sockets
    p.disconnect()
    p.connect()
    const info = await when(p, 'stopped', () => p.stoppedBy, 'the provider to stop')
    expect(info).toEqual({ code: 4401, reason: FOREIGN_TOKEN })
    expect(sockets - before).toBe(0)
    expect(p.tokenUser).toEqual({ id: 'user-1', name: null })
    expect(p.cleared).toBeNull()
  })
})
