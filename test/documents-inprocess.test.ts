/**
 * The content API in the test process, on a store the test controls: the
 * parsing worker found from the TypeScript sources, and a failing store
 * answered with 503 (nothing half-done).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryStore } from '../server/backend/memory-store.js'
import { startInProcess, type InProcessQuire } from './helpers/in-process.js'

const store = new MemoryStore()
let q: InProcessQuire
beforeAll(async () => { q = await startInProcess(store) })
afterAll(async () => { await q?.quire.drain() })

const create = (name: string, content: string): Promise<Response> =>
  fetch(`${q.url}/api/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, content, format: 'markdown' }) })

describe('content API in-process', () => {
  it('parses through its worker thread when run from the sources', async () => {
    expect((await create('inproc/a', '# Hi\n\n*there*')).status).toBe(201)
    expect(await (await fetch(`${q.url}/api/documents/inproc/a?format=html`)).text()).toBe('<h1>Hi</h1><p><em>there</em></p>')
  })

  it('a failing store gets 503 with a reason, for reads, writes, creations, deletions and listings', async () => {
    store.failWith = new Error('disk on fire')
    try {
      const answers = await Promise.all([
        fetch(`${q.url}/api/documents/inproc/a`),
        fetch(`${q.url}/api/documents/inproc/a`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'x' }),
        create('inproc/b', 'x'),
        fetch(`${q.url}/api/documents/inproc/a`, { method: 'DELETE' }),
        fetch(`${q.url}/api/documents`),
      ])
      for (const res of answers) {
        expect(res.status).toBe(503)
        expect(await res.json()).toEqual({ error: 'store unavailable' })
      }
    } finally {
      store.failWith = null
    }
    expect(await (await fetch(`${q.url}/api/documents/inproc/a?format=markdown`)).text()).toBe('# Hi\n\n*there*')
    expect((await fetch(`${q.url}/api/documents/inproc/b`)).status).toBe(404)
  })
})
