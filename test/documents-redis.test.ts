/**
 * The content API across two Quire instances on one real Redis: creations
 * racing on both instances make the document exactly once, a deletion on
 * one closes the editors on both, and a write on one reaches editors on
 * the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { startRedis, type RedisProcess } from '../harness/redis.js'
import { connectClient, whenClosed, whenDoc, whenSynced, type TestClient } from './helpers/clients.js'
import { CLOSE, CLOSE_REASONS } from '../common/close-codes.js'

let redis: RedisProcess
let a: QuireProcess
let b: QuireProcess
const clients: TestClient[] = []
beforeAll(async () => {
  redis = await startRedis()
  ;[a, b] = await Promise.all([startQuire({ REDIS_URL: redis.url }), startQuire({ REDIS_URL: redis.url })])
})
afterAll(async () => {
  for (const c of clients) c.destroy()
  await Promise.all([a?.kill(), b?.kill()])
  await redis?.stop()
})

const create = (q: QuireProcess, name: string, content: string, format: string): Promise<Response> =>
  fetch(`${q.url}/api/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, content, format }) })
const readText = async (q: QuireProcess, name: string): Promise<string> => {
  const res = await fetch(`${q.url}/api/documents/${encodeURIComponent(name)}?format=text`)
  expect(res.status).toBe(200)
  return res.text()
}
const open = async (q: QuireProcess, name: string): Promise<TestClient> => {
  const client = connectClient(q.wsUrl, name)
  clients.push(client)
  await whenSynced(client, `an editor of ${name} on :${q.port} to sync`)
  return client
}
const textOf = (doc: Y.Doc): string => doc.getXmlFragment('default').toString()

describe('creation across instances', () => {
  it('the same POST on both instances at the same moment: one 201, one 409, the content once everywhere', async () => {
    for (let round = 0; round < 5; round++) {
      const name = `race/${process.pid}-${round}`
      // Editors already on the empty document on both instances, as when a link is shared before it is seeded.
      const [onA, onB] = await Promise.all([open(a, name), open(b, name)])
      const statuses = (await Promise.all([create(a, name, '# Seeded\n\nonce', 'markdown'), create(b, name, '# Seeded\n\nonce', 'markdown')])).map((r) => r.status)
      expect(statuses.sort()).toEqual([201, 409])
      const once = '<heading level="1">Seeded</heading><paragraph>once</paragraph>'
      await whenDoc(onA.doc, () => textOf(onA.doc) === once, 'the seeded content on the editor of instance A')
      await whenDoc(onB.doc, () => textOf(onB.doc) === once, 'the seeded content on the editor of instance B')
      expect(await readText(a, name)).toBe('Seeded\n\nonce')
      expect(await readText(b, name)).toBe('Seeded\n\nonce')
      // A new editor gets the content once too.
      const late = await open(b, name)
      expect(textOf(late.doc)).toBe(once)
    }
  })

  it('different content racing on both instances: one wins whole, the other is refused whole', async () => {
    const name = `race/${process.pid}-different`
    const statuses = (await Promise.all([create(a, name, 'from a', 'text'), create(b, name, 'from b', 'text')])).map((r) => r.status)
    expect(statuses.sort()).toEqual([201, 409])
    const text = await readText(a, name)
    expect(['from a', 'from b']).toContain(text)
    expect(await readText(b, name)).toBe(text)
  })
})

describe('writes and deletion across instances', () => {
  it('a PUT on one instance reaches editors on the other at once', async () => {
    const name = `span/${process.pid}-put`
    expect((await create(a, name, '<p>before</p>', 'html')).status).toBe(201)
    const onB = await open(b, name)
    const res = await fetch(`${a.url}/api/documents/${encodeURIComponent(name)}`, { method: 'PUT', headers: { 'content-type': 'text/html' }, body: '<p>before</p><p>after</p>' })
    expect(res.status).toBe(200)
    await whenDoc(onB.doc, () => textOf(onB.doc) === '<paragraph>before</paragraph><paragraph>after</paragraph>', 'the PUT on A to reach the editor on B')
  })

  it('DELETE on one instance closes the editors on every instance (4404) and the document is gone from both', async () => {
    const name = `span/${process.pid}-delete`
    expect((await create(a, name, 'doomed', 'text')).status).toBe(201)
    const [onA, onB] = await Promise.all([open(a, name), open(b, name)])
    const closedA = whenClosed(onA, 'the editor on A to be closed by the deletion')
    const closedB = whenClosed(onB, 'the editor on B to be closed by the deletion')
    expect((await fetch(`${a.url}/api/documents/${encodeURIComponent(name)}`, { method: 'DELETE' })).status).toBe(204)
    const gone = { code: CLOSE.gone, reason: CLOSE_REASONS[CLOSE.gone] }
    expect(await closedA).toEqual(gone)
    expect(await closedB).toEqual(gone)
    for (const q of [a, b]) {
      expect((await fetch(`${q.url}/api/documents/${encodeURIComponent(name)}`)).status).toBe(404)
      const list = await (await fetch(`${q.url}/api/documents?prefix=${encodeURIComponent(name)}`)).json() as { documents: unknown[] }
      expect(list.documents).toEqual([])
    }
    expect(await redis.client().keys(`quire:{${Buffer.from(name).toString('hex')}}:*`)).toEqual([])
    // And it can be made again, from the other instance.
    expect((await create(b, name, 'again', 'text')).status).toBe(201)
    expect(await readText(a, name)).toBe('again')
  })
})
