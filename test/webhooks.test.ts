/**
 * Webhooks on one instance (docs/webhooks.md): real Quire processes on the
 * embedded store deliver to a real HTTP receiver started here, which checks
 * every signature. document.changed debounced with a maximum wait and naming
 * its authors; user.joined / user.left once per person; retries, 410, the
 * retry window and timeouts; the admin API; queued deliveries surviving
 * kill -9 and a graceful restart; the emit interface other features use;
 * the verification snippet of the docs, run against a real delivery.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as Y from 'yjs'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { connectClient, whenAwareness, whenSynced, type TestClient } from './helpers/clients.js'
import { mintToken, TEST_SECRET } from './helpers/tokens.js'
import { readMetrics } from './helpers/metrics.js'
import { sleep, waitFor } from './helpers/wait.js'
import { countById, startReceiver, type Receiver, type Received } from './helpers/webhook-receiver.js'
import { startInProcess, type InProcessQuire } from './helpers/in-process.js'
import { startOnce } from './helpers/start-once.js'
import { MemoryStore } from '../server/backend/memory-store.js'

const SECRET = 'webhook-secret-for-the-tests-0123'
const API_KEY = 'api-key-for-the-tests-0123456789'

const quires: QuireProcess[] = []
const inProcess: InProcessQuire[] = []
const receivers: Receiver[] = []
const clients: TestClient[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy()
  await Promise.all(quires.splice(0).map((q) => q.kill()))
  await Promise.all(inProcess.splice(0).map((q) => q.quire.drain()))
  await Promise.all(receivers.splice(0).map((r) => r.close()))
})

async function receiver (): Promise<Receiver> {
  const r = await startReceiver(SECRET)
  receivers.push(r)
  return r
}

type EndpointSpec = { url: string, events: string[], secret?: string, includeContent?: string }

async function quire (endpoints: EndpointSpec[], env: Record<string, string> = {}): Promise<QuireProcess> {
  const q = await startQuire({
    AUTH_SECRET: TEST_SECRET,
    WEBHOOKS: JSON.stringify(endpoints.map((e) => ({ secret: SECRET, ...e }))),
    WEBHOOK_DEBOUNCE_MS: '500',
    WEBHOOK_MAX_WAIT_MS: '3000',
    WEBHOOK_RETRY_BASE_MS: '50',
    ...env,
  })
  quires.push(q)
  return q
}

async function enter (q: QuireProcess, doc: string, sub: string, name: string): Promise<TestClient> {
  const c = connectClient(q.wsUrl, doc, { token: await mintToken({ sub, name, allowedDocumentNames: ['*'] }) })
  clients.push(c)
  await whenSynced(c, `${sub} to sync ${doc}`)
  // As the web editor does; a stock client's first state has clock 0, which other stock clients ignore until its renewal.
  c.provider.awareness.setLocalStateField('user', { color: '#1971c2' })
  return c
}

/** A paragraph typed at the end, as the web editor (Tiptap) writes it. */
function write (c: TestClient, text: string): void {
  const fragment = c.doc.getXmlFragment('default')
  const paragraph = new Y.XmlElement('paragraph')
  paragraph.insert(0, [new Y.XmlText(text)])
  fragment.insert(fragment.length, [paragraph])
}

const userIds = (r: Received): string[] => r.json.users.map((u) => u.id).sort()
const ofType = (type: string) => (all: Received[]): Received[] => all.filter((r) => r.json.type === type)

describe('document.changed', () => {
  it('one event per burst, after the debounce, naming everyone whose edits it holds, signed, with the content asked for', async () => {
    const hook = await receiver()
    const q = await quire([{ url: hook.url, events: ['document.changed'], includeContent: 'text' }])
    const alice = await enter(q, 'hooks/changed', 'alice', 'Alice')
    const bob = await enter(q, 'hooks/changed', 'bob', 'Bob')
    await whenAwareness(alice, (s) => s.size === 2, 'alice to see bob present (the server holds both states)')
    await whenAwareness(bob, (s) => s.size === 2, 'bob to see alice present')

    write(alice, 'Hello')
    write(bob, 'world')
    const [first] = await hook.until(() => hook.delivered('document.changed').length >= 1, 'the first document.changed').then(ofType('document.changed'))
    expect(first.verified).toBe(true)
    expect(first.headers['quire-webhook-id']).toBe(first.json.id)
    expect(first.headers['quire-webhook-event']).toBe('document.changed')
    expect(first.headers['content-type']).toBe('application/json')
    expect(first.json.document).toEqual({ name: 'hooks/changed' })
    expect(first.json.users).toEqual(expect.arrayContaining([{ id: 'alice', name: 'Alice' }, { id: 'bob', name: 'Bob' }]))
    expect(first.json.users).toHaveLength(2)
    expect(first.json.content).toMatchObject({ format: 'text', contentType: 'text/plain; charset=utf-8' })
    const content = first.json.content as { body: string }
    expect(content.body).toContain('Hello')
    expect(content.body).toContain('world')

    write(alice, 'again')
    await hook.until(() => hook.delivered('document.changed').length >= 2, 'the second burst\'s document.changed')
    const second = hook.delivered('document.changed')[1]
    expect(userIds(second)).toEqual(['alice'])
    expect(second.json.id).not.toBe(first.json.id)
    expect(hook.received.every((r) => r.verified)).toBe(true)
  })

  it('typing without a pause is reported every WEBHOOK_MAX_WAIT_MS, not only once it stops', async () => {
    const hook = await receiver()
    const q = await quire([{ url: hook.url, events: ['document.changed'] }], { WEBHOOK_DEBOUNCE_MS: '500', WEBHOOK_MAX_WAIT_MS: '1000' })
    const alice = await enter(q, 'hooks/typing', 'alice', 'Alice')
    let typing = true
    let stoppedAt = 0
    const typist = (async () => {
      const started = Date.now()
      // A character every 100 ms for 3.5 s: never quiet for the 500 ms debounce.
      while (Date.now() - started < 3_500) {
        alice.text.insert(alice.text.length, 'x')
        await sleep(100)
      }
      stoppedAt = Date.now()
      typing = false
    })()
    const [firstWhileTyping] = await hook.until(() => hook.delivered('document.changed').length >= 1, 'a document.changed while alice is still typing')
    const arrivedWhileTyping = typing
    await typist
    await hook.until(() => hook.delivered('document.changed').some((r) => Date.parse(r.json.createdAt) >= stoppedAt - 150), 'the document.changed of the last keystrokes')
    expect(arrivedWhileTyping).toBe(true)
    expect(userIds(firstWhileTyping)).toEqual(['alice'])
    // 3.5 s of typing with a 1 s maximum wait: about four batches (more only if the machine stalls
    // the typist past the debounce), never one per keystroke (35).
    const batches = hook.delivered('document.changed').length
    expect(batches).toBeGreaterThanOrEqual(3)
    expect(batches).toBeLessThanOrEqual(12)
  })
})

describe('user.joined and user.left', () => {
  it('once per person in a document, however many tabs they open', async () => {
    const hook = await receiver()
    const q = await quire([{ url: hook.url, events: ['user.joined', 'user.left'] }])
    const doc = 'hooks/presence'
    const aliceTab1 = await enter(q, doc, 'alice', 'Alice')
    await hook.until(() => hook.delivered('user.joined').length >= 1, 'alice\'s user.joined')
    const aliceTab2 = await enter(q, doc, 'alice', 'Alice')
    await whenAwareness(aliceTab1, (s) => s.size === 2, 'alice\'s first tab to see her second')
    const bob = await enter(q, doc, 'bob', 'Bob')
    await hook.until(() => hook.delivered('user.joined').length >= 2, 'bob\'s user.joined')
    aliceTab1.destroy()
    await whenAwareness(bob, (s) => s.size === 2, 'bob to see one of alice\'s tabs go')
    aliceTab2.destroy()
    await hook.until(() => hook.delivered('user.left').length >= 1, 'alice\'s user.left, once her last tab closed')

    // The last one out: the document unloads at once (a stock client removes its own presence
    // just before it closes, so the flush that would say so is still pending then).
    bob.destroy()
    await hook.until(() => hook.delivered('user.left').length >= 2, 'bob\'s user.left, the document unloading')

    expect(hook.delivered('user.joined').map(userIds)).toEqual([['alice'], ['bob']])
    expect(hook.delivered('user.left').map(userIds)).toEqual([['alice'], ['bob']])
    expect(hook.delivered('user.left')[0].json.users).toEqual([{ id: 'alice', name: 'Alice' }])
    expect(hook.received.every((r) => r.verified)).toBe(true)
  })
})

describe('retries', () => {
  it('a failing endpoint gets the same event again, with backoff, until it answers 2xx', async () => {
    const hook = await receiver()
    hook.respond = (r) => r.n <= 3 ? 500 : 200
    const q = await quire([{ url: hook.url, events: ['user.joined'] }])
    await enter(q, 'hooks/retry', 'alice', 'Alice')
    await hook.until(() => hook.delivered().length === 1, 'the event delivered on its fourth attempt')
    expect(hook.received.map((r) => r.answer)).toEqual([500, 500, 500, 200])
    expect(new Set(hook.received.map((r) => r.json.id)).size).toBe(1)
    expect(hook.received.map((r) => r.headers['quire-webhook-attempt'])).toEqual(['1', '2', '3', '4'])
    expect(hook.received.every((r) => r.verified)).toBe(true)
    const m = await waitFor(() => readMetrics(q.url), (m) => m.get('quire_webhook_queued') === 0, 'the queue to be empty')
    expect(m.get('quire_webhook_deliveries_total{result="http_error"}')).toBe(3)
    expect(m.get('quire_webhook_deliveries_total{result="delivered"}')).toBe(1)
    expect(m.get('quire_webhook_delivery_seconds_count')).toBe(1)
  })

  it('410 stops at once; no answer in time is retried; past WEBHOOK_RETRY_FOR_MS a delivery is given up', async () => {
    const [gone, slow, broken] = [await receiver(), await receiver(), await receiver()]
    gone.respond = () => 410
    slow.respond = (r) => r.n === 1 ? 'hang' : 200
    broken.respond = () => 503
    const q = await quire([gone, slow, broken].map((r) => ({ url: r.url, events: ['user.joined'] })), {
      WEBHOOK_TIMEOUT_MS: '300',
      WEBHOOK_RETRY_FOR_MS: '2000',
      WEBHOOK_RETRY_BASE_MS: '100',
    })
    await enter(q, 'hooks/failures', 'alice', 'Alice')
    await slow.until(() => slow.delivered().length === 1, 'the slow endpoint\'s second attempt, after the first timed out')
    const m = await waitFor(() => readMetrics(q.url), (m) => m.get('quire_webhook_queued') === 0, 'every delivery to be done or given up')
    expect(gone.received).toHaveLength(1)
    expect(slow.received.map((r) => r.answer)).toEqual(['aborted', 200])
    expect(broken.received.length).toBeGreaterThanOrEqual(2)
    expect(new Set(broken.received.map((r) => r.json.id)).size).toBe(1)
    expect(m.get('quire_webhook_failures_total{reason="gone"}')).toBe(1)
    expect(m.get('quire_webhook_failures_total{reason="expired"}')).toBe(1)
    expect(m.get('quire_webhook_deliveries_total{result="timeout"}')).toBe(1)
    expect(m.get('quire_webhook_deliveries_total{result="gone"}')).toBe(1)
  })
})

describe('queued deliveries survive restarts (embedded store)', () => {
  it('an event still failing when Quire is killed -9, then stopped gracefully, is delivered after the restarts', async () => {
    const hook = await receiver()
    hook.respond = () => 500
    let q = await quire([{ url: hook.url, events: ['user.joined'] }], { WEBHOOK_RETRY_BASE_MS: '200' })
    const alice = await enter(q, 'hooks/restart', 'alice', 'Alice')
    const [first] = await hook.until((all) => all.length >= 1, 'the first (failing) attempt')
    const id = first.json.id
    alice.destroy()
    await q.kill('SIGKILL')
    quires.splice(quires.indexOf(q), 1)
    q = await q.restart()
    quires.push(q)
    await hook.until((all) => all.filter((r) => r.json.id === id).length >= 2, 'the event to be tried again after kill -9')
    await q.kill('SIGTERM')
    quires.splice(quires.indexOf(q), 1)
    hook.respond = () => 200
    q = await q.restart()
    quires.push(q)
    await hook.until(() => hook.delivered().some((r) => r.json.id === id), 'the event delivered after the graceful restart')
    expect(hook.delivered().filter((r) => r.json.id === id)).toHaveLength(1)
    expect(hook.received.every((r) => r.verified)).toBe(true)
  })
})

describe('the admin API', () => {
  const admin = (q: QuireProcess, method: string, path = '', body?: unknown, key = API_KEY): Promise<Response> =>
    fetch(`${q.url}/api/admin/webhooks${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    })

  it('API_KEY only; private addresses refused unless WEBHOOKS_ALLOW_PRIVATE=1', async () => {
    const hook = await receiver()
    const q = await quire([], { API_KEY })
    expect((await admin(q, 'GET', '', undefined, 'wrong-key-wrong-key-wrong')).status).toBe(401)
    expect((await fetch(`${q.url}/api/admin/webhooks`)).status).toBe(401)
    const refused = await admin(q, 'POST', '', { url: hook.url, events: ['user.joined'] })
    expect(refused.status).toBe(400)
    expect((await refused.json() as { error: string }).error).toMatch(/^url: 127\.0\.0\.1 is a private address \(set WEBHOOKS_ALLOW_PRIVATE=1/)
    const bad = await admin(q, 'POST', '', { url: 'https://example.com/hook', events: ['document.exploded'] })
    expect(bad.status).toBe(400)
    expect((await bad.json() as { error: string }).error).toMatch(/^events: must be one of document\.created, /)

    const open = await startInProcess(new MemoryStore())
    inProcess.push(open)
    const off = await fetch(`${open.url}/api/admin/webhooks`)
    expect(off.status).toBe(403)
    expect(await off.json()).toEqual({ error: 'the webhooks admin API needs API_KEY to be set' })
  })

  it('adds (generating the secret, shown once), lists without secrets, delivers, removes; kept across a restart', async () => {
    const [added, configured] = [await receiver(), await receiver()]
    let q = await quire([{ url: configured.url, events: ['user.joined'] }], { API_KEY, WEBHOOKS_ALLOW_PRIVATE: '1' })
    const created = await admin(q, 'POST', '', { url: added.url, events: ['user.joined', 'user.left'], includeContent: 'text' })
    expect(created.status).toBe(201)
    const { webhook, secret } = await created.json() as { webhook: { id: string, url: string, source: string }, secret: string }
    expect(secret).toMatch(/^whsec_[0-9a-f]{48}$/)
    expect(webhook).toMatchObject({ url: added.url, events: ['user.joined', 'user.left'], includeContent: 'text', source: 'api' })
    added.secret = secret
    expect((await admin(q, 'POST', '', { url: added.url, events: ['user.joined'] })).status).toBe(409)

    const listed = await (await admin(q, 'GET')).text()
    expect(listed).not.toContain('secret')
    expect(listed).not.toContain(SECRET)
    const { webhooks } = JSON.parse(listed) as { webhooks: Array<{ id: string, source: string }> }
    expect(webhooks.map((w) => w.source).sort()).toEqual(['api', 'env'])

    await enter(q, 'hooks/admin', 'alice', 'Alice')
    const [delivery] = await added.until(() => added.delivered().length === 1, 'the admin-added endpoint\'s user.joined')
    expect(delivery.verified).toBe(true)
    expect(delivery.json.content).toMatchObject({ format: 'text', body: '' })

    const envId = webhooks.find((w) => w.source === 'env')!.id
    expect((await admin(q, 'DELETE', `/${envId}`)).status).toBe(409)
    await q.kill('SIGTERM')
    quires.splice(quires.indexOf(q), 1)
    q = await q.restart()
    quires.push(q)
    const after = await (await admin(q, 'GET')).json() as { webhooks: Array<{ id: string }> }
    expect(after.webhooks.map((w) => w.id)).toContain(webhook.id)

    expect((await admin(q, 'DELETE', `/${webhook.id}`)).status).toBe(204)
    expect((await admin(q, 'DELETE', `/${webhook.id}`)).status).toBe(404)
    const before = added.received.length
    await enter(q, 'hooks/admin-2', 'bob', 'Bob')
    await configured.until(() => configured.delivered().some((r) => userIds(r)[0] === 'bob'), 'bob\'s user.joined at the configured endpoint')
    expect(added.received.length).toBe(before)
  })
})

describe('the emit interface (document.created, document.deleted, version.created)', () => {
  it('queues an event for each endpoint that listens, with the content as it is now; a deleted document has none', async () => {
    const [everything, versions] = [await receiver(), await receiver()]
    const q = await startInProcess(new MemoryStore(), {
      API_KEY,
      // Only the events this test emits (history would add a version.created of its own when the document unloads).
      HISTORY_AUTO: 'off',
      WEBHOOKS: JSON.stringify([
        { url: everything.url, events: ['*'], secret: SECRET, includeContent: 'text' },
        { url: versions.url, events: ['version.created'], secret: SECRET },
      ]),
    })
    inProcess.push(q)
    const seed = new Y.Doc()
    const paragraph = new Y.XmlElement('paragraph')
    paragraph.insert(0, [new Y.XmlText('seeded')])
    seed.getXmlFragment('default').insert(0, [paragraph])
    const res = await fetch(`${q.url}/api/documents/hooks%2Femitted/updates`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: Y.encodeStateAsUpdate(seed).slice() })
    expect(res.status).toBe(200)

    const at = new Date('2030-01-02T03:04:05.000Z')
    await q.quire.hooks.emit({ type: 'document.created', doc: 'hooks/emitted', users: [{ id: 'svc', name: 'Importer' }], at })
    await q.quire.hooks.emit({ type: 'version.created', doc: 'hooks/emitted', data: { version: 'v1' } })
    await q.quire.hooks.emit({ type: 'document.deleted', doc: 'hooks/emitted' })
    await everything.until(() => everything.delivered().length === 3, 'the three events at the endpoint that wants them all')
    await versions.until(() => versions.delivered().length === 1, 'version.created at the endpoint that wants only it')

    const byType = new Map(everything.delivered().map((r) => [r.json.type, r.json]))
    expect(byType.get('document.created')).toMatchObject({
      createdAt: '2030-01-02T03:04:05.000Z',
      document: { name: 'hooks/emitted' },
      users: [{ id: 'svc', name: 'Importer' }],
      content: { format: 'text', body: 'seeded' },
    })
    expect(byType.get('version.created')).toMatchObject({ data: { version: 'v1' }, users: [], content: { format: 'text', body: 'seeded' } })
    expect(byType.get('document.deleted')).toMatchObject({ content: { format: 'text', omitted: 'unavailable' } })
    const version = versions.delivered()[0]
    expect(version.json.id).toBe(byType.get('version.created')!.id)
    expect(version.json.content).toBeUndefined()
    expect([...countById([...everything.received, ...versions.received]).values()].sort()).toEqual([1, 1, 2])
  })
})

describe('configuration', () => {
  it('a bad WEBHOOKS stops the start with one line naming the entry and field, never the secret', async () => {
    const secret = 'short-SECRET'
    const run = await startOnce({ WEBHOOKS: JSON.stringify([{ url: 'https://example.com/a', events: ['user.joined'], secret }]) })
    expect(run.code).toBe(2)
    expect(run.stderr).toBe('quire: invalid WEBHOOKS: entry 0: secret: must be at least 16 characters\n')
    expect(run.stderr).not.toContain(secret)
    const wait = await startOnce({ WEBHOOK_DEBOUNCE_MS: '5000', WEBHOOK_MAX_WAIT_MS: '1000' })
    expect(wait.code).toBe(2)
    expect(wait.stderr).toContain('invalid WEBHOOK_MAX_WAIT_MS (got "1000"): must be at least WEBHOOK_DEBOUNCE_MS (5000)')
  })
})

describe('docs/webhooks.md', () => {
  it('its verification snippet accepts a real delivery and refuses a tampered one', async () => {
    const page = readFileSync('docs/webhooks.md', 'utf8')
    const snippet = [...page.matchAll(/```js\n([\s\S]*?)\n```/g)].map((m) => m[1]).find((code) => code.includes('export function verifyQuireSignature'))
    expect(snippet, 'a ```js block with verifyQuireSignature in docs/webhooks.md').toBeDefined()
    const file = join(mkdtempSync(join(tmpdir(), 'quire-snippet-')), 'verify.mjs')
    writeFileSync(file, snippet!)
    const { verifyQuireSignature } = await import(pathToFileURL(file).href) as { verifyQuireSignature: (secret: string, header: string | undefined, body: string | Buffer) => boolean }

    const hook = await receiver()
    const q = await quire([{ url: hook.url, events: ['user.joined'] }])
    await enter(q, 'hooks/snippet', 'alice', 'Alice')
    const [delivery] = await hook.until(() => hook.delivered().length === 1, 'a delivery to check')
    const header = delivery.headers['quire-signature'] as string
    expect(verifyQuireSignature(SECRET, header, delivery.body)).toBe(true)
    expect(verifyQuireSignature(SECRET, header, Buffer.from(delivery.body))).toBe(true)
    expect(verifyQuireSignature(SECRET, header, delivery.body.replace('alice', 'mallory'))).toBe(false)
    expect(verifyQuireSignature('another-secret-entirely', header, delivery.body)).toBe(false)
    const old = header.replace(/t=\d+/, `t=${Math.floor(Date.now() / 1000) - 3600}`)
    expect(verifyQuireSignature(SECRET, old, delivery.body)).toBe(false)
  })
})
