/**
 * The provider's fallback transport (docs/editor.md, "Connection"), in Node
 * against a real Quire process: behind a proxy that refuses (or swallows)
 * WebSocket upgrades, and with no WebSocket at all, it syncs over the HTTP
 * stream with a stock y-websocket client, with acks and presence; when
 * upgrades get through again it moves back to a WebSocket by itself, and no
 * edit is lost on the way.
 */
import * as Y from 'yjs'
import WS from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { QuireProvider, type QuireProviderOptions, type TransportKind } from '../../client/provider/src/quire-provider.js'
import { startQuire, type QuireProcess } from '../../harness/quire.js'
import { connectClient, whenAwareness, whenDoc, whenSynced, type TestClient } from '../helpers/clients.js'
import { startUpgradeProxy, type UpgradeProxy } from '../helpers/upgrade-proxy.js'
import { waitFor, waitOn } from '../helpers/wait.js'
import { whenProvider } from '../helpers/provider-events.js'
import { readMetrics } from '../helpers/metrics.js'

let quire: QuireProcess
const proxies: UpgradeProxy[] = []
const cleanup: Array<() => void> = []

beforeAll(async () => { quire = await startQuire() })
afterAll(async () => {
  for (const fn of cleanup) fn()
  await Promise.all(proxies.map((p) => p.close()))
  await quire?.kill()
})

async function proxy (mode: UpgradeProxy['mode']): Promise<UpgradeProxy> {
  const p = await startUpgradeProxy(quire.port, mode)
  proxies.push(p)
  return p
}

function provider (server: string, doc: string, opts: Partial<QuireProviderOptions> = {}): QuireProvider {
  const p = new QuireProvider({ server, doc, ydoc: new Y.Doc(), crossTab: false, WebSocket: WS as unknown as typeof WebSocket, ...opts })
  cleanup.push(() => { p.destroy(); p.ydoc.destroy() })
  return p
}

function stock (doc: string): TestClient {
  const c = connectClient(quire.wsUrl, doc)
  cleanup.push(() => c.destroy())
  return c
}

const when = whenProvider

/** Resolves once `holds` is true, re-checked every few milliseconds (for state that has no event here). */
const polled = (holds: () => boolean, what: string): Promise<true> =>
  waitOn((on) => { const t = setInterval(on, 10); return () => clearInterval(t) }, () => holds() || undefined, what)

const named = (states: Map<number, Record<string, unknown>>, name: string): boolean =>
  [...states.values()].some((v) => (v.user as { name?: string } | undefined)?.name === name)

/** Resolves once the provider is synced, saved, and on `kind`. */
async function settled (p: QuireProvider, kind: TransportKind, what: string): Promise<void> {
  await when(p, 'transport', () => p.transport === kind, `${what}: on ${kind}`)
  await when(p, 'synced', () => p.synced, `${what}: synced`)
  await when(p, 'saved', () => p.saved, `${what}: saved`)
}

describe('falling back to the HTTP stream', () => {
  it('behind a proxy that refuses upgrades: syncs over the stream with a stock WebSocket client, acks and presence included', async () => {
    const refusing = await proxy('refuse')
    const alice = stock('fallback/refused')
    await whenSynced(alice, 'Alice (WebSocket) to sync')
    alice.text.insert(0, 'Alice was here. ')
    alice.provider.awareness.setLocalStateField('user', { name: 'Alice' })

    const p = provider(refusing.wsUrl, 'fallback/refused')
    p.awareness.setLocalStateField('user', { name: 'Bob' })
    await settled(p, 'stream', 'Bob behind the proxy')
    expect(refusing.upgrades.refuse).toBeGreaterThanOrEqual(1)
    expect(p.status).toBe('connected')
    const text = p.ydoc.getText('t')
    expect(text.toString()).toBe('Alice was here. ')

    text.insert(text.length, 'Bob too.')
    expect(p.saved).toBe(false)
    await when(p, 'saved', () => p.saved, 'Bob\'s edit to be acknowledged over the stream')
    await whenDoc(alice.doc, () => alice.text.toString() === 'Alice was here. Bob too.', 'Alice to get Bob\'s edit')
    alice.text.insert(0, '» ')
    await whenDoc(p.ydoc, () => text.toString() === '» Alice was here. Bob too.', 'Bob to get Alice\'s edit down the stream')

    await whenAwareness(alice, (s) => named(s, 'Bob'), 'Alice to see Bob')
    await waitOn((on) => { p.awareness.on('change', on); return () => p.awareness.off('change', on) },
      () => named(p.awareness.getStates() as Map<number, Record<string, unknown>>, 'Alice') || undefined, 'Bob to see Alice')
  })

  it('behind a proxy that never answers upgrades: falls back after webSocketTimeoutMs', async () => {
    const silent = await proxy('swallow')
    const p = provider(silent.wsUrl, 'fallback/swallowed', { webSocketTimeoutMs: 300 })
    const started = Date.now()
    await settled(p, 'stream', 'the provider behind a silent proxy')
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
    expect(silent.upgrades.swallow).toBeGreaterThanOrEqual(1)
  })

  it('with no WebSocket in the environment: the stream at once', async () => {
    const p = provider(quire.wsUrl, 'fallback/no-websocket', { WebSocket: undefined })
    await settled(p, 'stream', 'the provider without WebSockets')
    const alice = stock('fallback/no-websocket')
    await whenSynced(alice, 'Alice to sync')
    p.ydoc.getText('t').insert(0, 'no sockets here')
    await whenDoc(alice.doc, () => alice.text.toString() === 'no sockets here', 'Alice to get the edit')
    expect(p.transport).toBe('stream')
  })

  it('with fallback off, a refused upgrade is an ordinary failed attempt', async () => {
    const refusing = await proxy('refuse')
    const p = provider(refusing.wsUrl, 'fallback/off', { fallback: false, backoff: { baseMs: 50, maxMs: 50 } })
    const closes: Array<{ code: number }> = []
    p.on('connection-close', (info) => closes.push(info))
    await when(p, 'connection-close', () => closes.length >= 2, 'two failed attempts')
    expect(p.transport).toBeNull()
    expect(p.status).toBe('offline')
  })
})

describe('back to WebSockets', () => {
  it('when the proxy starts letting upgrades through, moves to a WebSocket without losing an edit', async () => {
    const gate = await proxy('refuse')
    const streamsBefore = (await readMetrics(quire.url)).get('quire_connections_by_transport{transport="stream"}')
    const alice = stock('fallback/back')
    await whenSynced(alice, 'Alice to sync')
    const p = provider(gate.wsUrl, 'fallback/back', { probeBackoff: { baseMs: 100, maxMs: 200 } })
    const kinds: Array<TransportKind | null> = []
    p.on('transport', (kind) => kinds.push(kind))
    await settled(p, 'stream', 'Bob on the stream')
    const text = p.ydoc.getText('t')
    // Probes keep failing while the proxy refuses.
    await polled(() => gate.upgrades.refuse >= 3, 'the provider to probe a few times')
    expect(p.transport).toBe('stream')

    // Edits keep coming while the network changes under them.
    let n = 0
    const typing = setInterval(() => text.insert(text.length, `<${n++}>`), 10)
    cleanup.push(() => clearInterval(typing))
    await polled(() => n >= 10, 'some edits over the stream')
    gate.mode = 'allow'
    await when(p, 'transport', () => p.transport === 'websocket', 'the provider to move to a WebSocket')
    await polled(() => n >= 30, 'some edits over the WebSocket')
    clearInterval(typing)
    await when(p, 'saved', () => p.saved, 'every edit acknowledged')
    const expected = Array.from({ length: n }, (_, i) => `<${i}>`).join('')
    expect(text.toString()).toBe(expected)
    await whenDoc(alice.doc, () => alice.text.toString() === expected, 'Alice to have every edit, made on either transport')
    expect(kinds).toEqual(['stream', null, 'websocket'])
    expect(gate.upgrades.allow).toBeGreaterThanOrEqual(1)
    // The stream's connection is gone from the server.
    await waitFor(() => readMetrics(quire.url), (m) => m.get('quire_connections_by_transport{transport="stream"}') === streamsBefore, 'the stream to be gone from the server')
  })
})
