/**
 * `@quire/server` as a library (docs/server-library.md), in this process:
 * attached to an http.Server the test creates, under a prefix; the hooks
 * called with the right arguments at the right time; a hook's failure a
 * clean refusal or a log line; a custom store used to load and store;
 * onChange debounced and flushed by close().
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as Y from 'yjs'
import { createQuireServer, MemoryStore, Refusal, type QuireServer, type QuireServerOptions, type ChangeEvent, type ConnectionEvent, type AuthenticateContext, type StoredDoc, type AppendResult } from '../server/library/index.js'
import { configFrom, envName } from '../server/library/settings.js'
import { CONFIG_KEYS, ConfigError } from '../server/config.js'
import { CLOSE } from '../common/close-codes.js'
import { connectClient, whenDoc, whenSynced, whenClosed, type TestClient } from './helpers/clients.js'
import { openRaw } from './helpers/raw-socket.js'
import { openStream, type SseStream } from './helpers/sse.js'
import { waitFor } from './helpers/wait.js'
import { fromRoot, tempDir } from '../harness/paths.js'

/**
 * No environment, a fresh data directory, no drain pauses, and the built web
 * client (the served embed; running from source, Quire would look beside server/).
 */
const quiet = (): QuireServerOptions => ({
  env: {}, logLevel: process.env.QUIRE_TEST_LOG ?? 'silent', drainGraceMs: 0, drainSpreadMs: 0,
  dataDir: tempDir('library'), clientDir: fromRoot('dist', 'client'),
})

/** A store of the test's own behind DocStore: what it loaded and stored, on top of MemoryStore. */
class RecordingStore extends MemoryStore {
  readonly loads: string[] = []
  readonly appends: Array<{ name: string, updates: Uint8Array[] }> = []
  override async load (name: string): Promise<StoredDoc> {
    this.loads.push(name)
    return super.load(name)
  }

  override async append (name: string, updates: Uint8Array[]): Promise<AppendResult> {
    this.appends.push({ name, updates })
    return super.append(name, updates)
  }
}

const opened: Array<{ close (): Promise<void> }> = []
const clients: TestClient[] = []
const streams: SseStream[] = []
afterEach(async () => {
  for (const s of streams.splice(0)) s.close()
  for (const c of clients.splice(0)) c.destroy()
  for (const o of opened.splice(0).reverse()) await o.close()
})

/** A host app: its own server answering "host" to everything, Quire attached under `prefix`. */
async function hostWith (options: QuireServerOptions, prefix = '/collab'): Promise<{ quire: QuireServer, url: string, wsUrl: string, server: Server }> {
  const server = createServer((_req, res) => { res.end('host') })
  const quire = await createQuireServer({ ...quiet(), ...options })
  opened.push(quire)
  quire.attach(server, { prefix })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  opened.push({ close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) })
  const { port } = server.address() as AddressInfo
  return { quire, server, url: `http://127.0.0.1:${port}${prefix}`, wsUrl: `ws://127.0.0.1:${port}${prefix}` }
}

function client (wsUrl: string, doc: string, params: Record<string, string> = {}): TestClient {
  const c = connectClient(wsUrl, doc, { params })
  clients.push(c)
  return c
}

describe('createQuireServer attached to a host http.Server', () => {
  it('answers under its prefix and leaves every other request and upgrade to the host', async () => {
    const { url, wsUrl } = await hostWith({})
    const root = url.replace('/collab', '')
    expect(await (await fetch(`${url}/healthz`)).text()).toBe('ok\n')
    expect(await (await fetch(`${root}/healthz`)).text()).toBe('host')
    expect(await (await fetch(`${root}/collabx/healthz`)).text()).toBe('host')
    const embed = await fetch(`${url}/embed.js`)
    expect(embed.status).toBe(200)
    expect(embed.headers.get('content-type')).toContain('javascript')

    const a = client(wsUrl, 'notes/a')
    const b = client(wsUrl, 'notes/a')
    await Promise.all([whenSynced(a, 'a synced under the prefix'), whenSynced(b, 'b synced under the prefix')])
    a.text.insert(0, 'hello')
    await whenDoc(b.doc, () => b.text.toString() === 'hello', 'b to see what a typed')
    // An upgrade outside the prefix, with nobody else to take it: 404, no handshake.
    await expect(openRaw(`${root.replace('http', 'ws')}/notes/a`)).rejects.toThrow(/404/)
  })

  it('also serves from handleRequest / handleUpgrade in a route of the host', async () => {
    const quire = await createQuireServer(quiet())
    opened.push(quire)
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/q/')) {
        req.url = req.url.slice(2)
        return quire.handleRequest(req, res)
      }
      res.end('host')
    })
    server.on('upgrade', (req, socket, head) => {
      req.url = req.url?.slice(2)
      quire.handleUpgrade(req, socket, head)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    opened.push({ close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) })
    const { port } = server.address() as AddressInfo
    expect(await (await fetch(`http://127.0.0.1:${port}/q/readyz`)).text()).toBe('ready\n')
    const c = client(`ws://127.0.0.1:${port}/q`, 'routed')
    await whenSynced(c, 'a client through the host route synced')
  })

  it('listens on its own port when asked', async () => {
    const quire = await createQuireServer(quiet())
    opened.push(quire)
    const port = await quire.listen(0, '127.0.0.1')
    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).toBe('ok\n')
  })
})

describe('the authenticate hook', () => {
  it('is asked with the request, the document name and the token, and decides access', async () => {
    const asked: AuthenticateContext[] = []
    const { wsUrl } = await hostWith({
      authenticate: (context) => {
        asked.push(context)
        if (context.request.headers.cookie === 'session=alice') return { userId: 'alice', name: 'Alice', access: 'write' }
        if (context.token === 'reader') return { userId: 'rita', access: 'read' }
        return false
      },
    })
    const refused = await openRaw(`${wsUrl}/notes/a%20b`)
    expect(await refused.whenClosed('no cookie: refused')).toMatchObject({ code: CLOSE.unauthorized })
    expect(asked[0].documentName).toBe('notes/a b')
    expect(asked[0].token).toBeUndefined()

    const alice = await openRaw(`${wsUrl}/notes/a%20b`, { cookie: 'session=alice' })
    await alice.next(() => true, 'alice gets the sync step 1')
    alice.ws.close()

    const writer = connectClient(wsUrl, 'shared', { params: {} })
    clients.push(writer)
    expect((await whenClosed(writer, 'the stock client without a cookie refused')).code).toBe(CLOSE.unauthorized)
    writer.provider.disconnect()

    const reader = client(wsUrl, 'shared', { token: 'reader' })
    await whenSynced(reader, 'a reader with a token the hook accepts')
    expect(asked.at(-1)).toMatchObject({ documentName: 'shared', token: 'reader' })
  })

  it('refuses cleanly whatever the hook does wrong, and the server goes on', async () => {
    const { wsUrl } = await hostWith({
      authenticate: ({ documentName }) => {
        if (documentName === 'private') throw new Refusal(403, 'not your document')
        if (documentName === 'crash') throw new Error('database down')
        if (documentName === 'garbage') return { userId: 'x', access: 'admin' } as never
        return { userId: 'u', access: 'write' }
      },
    })
    const forbidden = await openRaw(`${wsUrl}/private`)
    expect(await forbidden.whenClosed('Refusal(403)')).toEqual({ code: CLOSE.forbidden, reason: 'not your document' })
    const crashed = await openRaw(`${wsUrl}/crash`)
    expect(await crashed.whenClosed('a hook that throws')).toMatchObject({ code: CLOSE.unauthorized })
    const garbage = await openRaw(`${wsUrl}/garbage`)
    expect(await garbage.whenClosed('a hook returning no user')).toMatchObject({ code: CLOSE.unauthorized })
    const fine = client(wsUrl, 'public')
    await whenSynced(fine, 'a client the hook accepts, after all that')
  })

  it('a hook that does not answer within authenticateTimeoutMs: 4503 (HTTP 503), which stock clients retry; others are served meanwhile', async () => {
    let hanging = 0
    const { url, wsUrl } = await hostWith({
      authenticateTimeoutMs: 300,
      authenticate: ({ documentName }) => {
        if (documentName !== 'slow') return { userId: 'u', access: 'write' }
        hanging++
        return new Promise(() => {})
      },
    })
    const slow = await openRaw(`${wsUrl}/slow`)
    const fine = client(wsUrl, 'fast')
    await whenSynced(fine, 'a client the hook answers while another hangs')
    expect(await slow.whenClosed('the hanging hook\'s deadline')).toEqual({ code: CLOSE.unavailable, reason: 'authenticate did not answer in time' })
    const api = await fetch(`${url}/api/documents/slow`, { headers: { authorization: 'Bearer anything' } })
    expect(api.status).toBe(503)
    expect(hanging).toBe(2)
    const metrics = await (await fetch(`${url}/metrics`)).text()
    expect(metrics).toMatch(/^quire_limit_refusals_total\{limit="authenticate_timeout"\} 1$/m)
  })

  it('decides the live event stream per document it names; a prefix stream takes the API key', async () => {
    const { url } = await hostWith({
      authenticate: ({ token, documentName }) => {
        if (token !== 'ann') return false
        if (documentName.startsWith('secret')) throw new Refusal(403)
        return { userId: 'ann', name: 'Ann', access: documentName === 'a' ? 'write' : 'read' }
      },
    })
    const stream = await openStream(`${url}/api/events?docs=a,b&token=ann`)
    streams.push(stream)
    expect(stream.status).toBe(200)
    await stream.next((e) => e.event === 'reset', 'the stream\'s first event (reset)')
    const refusal = async (query: string): Promise<[number, string]> => {
      const refused = await openStream(`${url}/api/events?${query}`)
      return [refused.status, (JSON.parse(refused.body) as { error: string }).error]
    }
    expect((await refusal('docs=a,secret-plans&token=ann'))[0]).toBe(403)
    expect((await refusal('docs=a&token=bob'))[0]).toBe(401)
    expect(await refusal('prefix=team/&token=ann')).toEqual([401, 'with an authenticate hook, name the documents (docs=…), or use the API key'])
    // A name ending in "*" is never granted as a pattern.
    expect((await refusal(`docs=${encodeURIComponent('a*')}&token=ann`))[0]).toBe(403)
    expect((await fetch(`${url}/api/documents/b/presence?token=ann`)).status).toBe(200)
    expect((await fetch(`${url}/api/documents/secret-plans/presence?token=ann`)).status).toBe(403)
  })

  it('answers the HTTP API with 401 / 403 and the fallback transport with the close codes', async () => {
    const { url } = await hostWith({
      authenticate: ({ token }) => {
        if (token === 'nope') throw new Refusal(403)
        return token === 'good' ? { userId: 'g', access: 'read' } : false
      },
    })
    const read = (token: string): Promise<Response> => fetch(`${url}/api/documents/doc`, { headers: { authorization: `Bearer ${token}` } })
    expect((await read('bad')).status).toBe(401)
    expect((await read('nope')).status).toBe(403)
    expect([200, 404]).toContain((await read('good')).status)
    // The fallback transport refuses as the upgrade does: a close event with the code (docs/protocol.md).
    const stream = await (await fetch(`${url}/sync/doc?token=nope`)).text()
    expect(stream).toContain(`"code":${CLOSE.forbidden}`)
  })
})

describe('onConnect, onDisconnect and onChange', () => {
  it('tells of each connection with its user and the count of connections to its document', async () => {
    const events: Array<['connect' | 'disconnect', ConnectionEvent]> = []
    const { wsUrl } = await hostWith({
      authenticate: ({ token }) => ({ userId: token ?? 'nobody', name: `User ${token}`, access: 'write' }),
      onConnect: (e) => { events.push(['connect', e]) },
      onDisconnect: async (e) => {
        events.push(['disconnect', e])
        throw new Error('a failing hook is logged, nothing more')
      },
    })
    const a = client(wsUrl, 'doc', { token: 'ann' })
    await whenSynced(a, 'ann synced')
    const b = client(wsUrl, 'doc', { token: 'bob' })
    await whenSynced(b, 'bob synced')
    expect(events).toEqual([
      ['connect', { documentName: 'doc', user: { userId: 'ann', name: 'User ann', access: 'write' }, connections: 1 }],
      ['connect', { documentName: 'doc', user: { userId: 'bob', name: 'User bob', access: 'write' }, connections: 2 }],
    ])
    a.provider.disconnect()
    await waitFor(() => events.length, (n) => n === 3, 'onDisconnect for ann')
    expect(events[2]).toEqual(['disconnect', { documentName: 'doc', user: { userId: 'ann', name: 'User ann', access: 'write' }, connections: 1 }])
    b.text.insert(0, 'still served')
    const c = client(wsUrl, 'doc', { token: 'cat' })
    await whenDoc(c.doc, () => c.text.toString() === 'still served', 'a newcomer served after a failing hook')
  })

  it('loads from and stores to a custom store', async () => {
    const store = new RecordingStore()
    const seed = new Y.Doc()
    seed.getText('t').insert(0, 'from my store')
    await store.create('seeded', Y.encodeStateAsUpdate(seed))
    const { wsUrl } = await hostWith({ store })
    const c = client(wsUrl, 'seeded')
    await whenDoc(c.doc, () => c.text.toString() === 'from my store', 'the client to get what the custom store held')
    expect(store.loads).toContain('seeded')
    const before = store.appends.length
    c.text.insert(0, '> ')
    await waitFor(() => store.appends.slice(before).filter((a) => a.name === 'seeded').length, (n) => n > 0, 'the edit appended to the custom store')
    const stored = new Y.Doc()
    for (const u of (await store.load('seeded')).updates) Y.applyUpdate(stored, u)
    expect(stored.getText('t').toString()).toBe('> from my store')
  })

  it('calls onChange once per quiet period with the state and who changed it, and close() reports what is pending', async () => {
    const changes: ChangeEvent[] = []
    const { quire, wsUrl } = await hostWith({
      authenticate: ({ token }) => ({ userId: token ?? 'nobody', access: 'write' }),
      onChange: (e) => { changes.push(e) },
      onChangeDebounceMs: 1_000,
    })
    const a = client(wsUrl, 'debounced', { token: 'ann' })
    const b = client(wsUrl, 'debounced', { token: 'bob' })
    await Promise.all([whenSynced(a, 'ann synced'), whenSynced(b, 'bob synced')])
    a.text.insert(0, 'one ')
    await whenDoc(b.doc, () => b.text.length > 0, 'bob to see ann\'s edit')
    b.text.insert(b.text.length, 'two ')
    await whenDoc(a.doc, () => a.text.toString() === 'one two ', 'ann to see bob\'s edit')
    const [first] = await waitFor(() => changes, (c) => c.length > 0, 'onChange after the quiet period')
    const text = (state: Uint8Array): string => {
      const doc = new Y.Doc()
      Y.applyUpdate(doc, state)
      return doc.getText('t').toString()
    }
    // Both edits came within the debounce (each waited only for the other client to see it): one call.
    expect(changes).toHaveLength(1)
    expect(first.documentName).toBe('debounced')
    expect(text(first.state)).toBe('one two ')
    expect(first.users.map((u) => u.userId).sort()).toEqual(['ann', 'bob'])

    // A change still in its debounce when the server closes is reported by close().
    a.text.insert(0, 'last ')
    await whenDoc(b.doc, () => b.text.toString().startsWith('last'), 'bob to see the last edit')
    opened.splice(opened.indexOf(quire), 1)
    await quire.close()
    expect(changes).toHaveLength(2)
    expect(text(changes[1].state)).toBe('last one two ')
    expect(changes[1].users).toEqual([{ userId: 'ann' }])
  })
})

describe('settings', () => {
  it('are the environment variables in camelCase, over the environment', () => {
    for (const key of CONFIG_KEYS) {
      const camel = key.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())
      expect(envName(camel)).toBe(key)
    }
    const config = configFrom({ maxMessageBytes: 4096, allowedOrigins: ['https://a.example', 'https://b.example'] }, { MAX_MESSAGE_BYTES: '2048', PORT: '4321' })
    expect(config.MAX_MESSAGE_BYTES).toBe(4096)
    expect(config.PORT).toBe(4321)
    expect(config.ALLOWED_ORIGINS).toEqual(['https://a.example', 'https://b.example'])
    expect(() => configFrom({ maxMesageBytes: 1 }, {})).toThrow(ConfigError)
    expect(() => configFrom({ maxMessageBytes: 'lots' }, {})).toThrow(/MAX_MESSAGE_BYTES/)
    // OPEN_MODE=refuse stops a server without tokens, but not one whose authenticate hook decides.
    expect(() => configFrom({}, { OPEN_MODE: 'refuse' })).toThrow(ConfigError)
    expect(configFrom({ openMode: 'refuse' }, {}, true).OPEN_MODE).toBe('allow')
  })
})

describe('the FileStore of docs/server-library.md', () => {
  /** The page's example, as written there, importing the library from source instead of the package. */
  async function docsFileStore (): Promise<new (dir: string) => MemoryStore> {
    const page = readFileSync(fromRoot('docs', 'server-library.md'), 'utf8')
    const block = /```js\n(import { appendFile[\s\S]*?)```/.exec(page)?.[1]
    if (block === undefined) throw new Error('docs/server-library.md has no FileStore example')
    const source = block
      .replace(/from '@quire\/server'/, `from ${JSON.stringify(fromRoot('server', 'library', 'index.ts'))}`)
      .replace(/^const quire = .*$/m, 'export { FileStore }')
    const file = join(tempDir('docs-store'), 'file-store.mjs')
    writeFileSync(file, source)
    return ((await import(file)) as { FileStore: new (dir: string) => MemoryStore }).FileStore
  }

  it('keeps documents across a restart', async () => {
    const FileStore = await docsFileStore()
    const dir = tempDir('file-store')
    const first = await hostWith({ store: new FileStore(dir) })
    const writer = client(first.wsUrl, 'kept/doc')
    await whenSynced(writer, 'the writer synced on the file store')
    writer.text.insert(0, 'written to a file')
    const other = client(first.wsUrl, 'kept/doc')
    await whenDoc(other.doc, () => other.text.toString() === 'written to a file', 'the edit relayed (so it is durable)')
    for (const c of clients.splice(0)) c.destroy()
    for (const o of opened.splice(0).reverse()) await o.close()

    const second = await hostWith({ store: new FileStore(dir) })
    const reader = client(second.wsUrl, 'kept/doc')
    await whenDoc(reader.doc, () => reader.text.toString() === 'written to a file', 'the document read back from its file after a restart')
  })
})
