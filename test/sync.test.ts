/** Stock y-websocket clients sync text and awareness through a Quire process. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { QuireProcess } from '../harness/quire.js'
import { fleet } from './helpers/fleet.js'
import { whenAwareness, whenDoc, whenSynced, type TestClient } from './helpers/clients.js'

const { start, client: fleetClient, stopAll } = fleet()
let quire: QuireProcess
const client = (doc: string): TestClient => fleetClient(quire, doc)

beforeAll(async () => { quire = await start() })
afterAll(stopAll)

describe('sync endpoint', () => {
  it('two stock clients co-edit text', async () => {
    const a = client('sync/one')
    const b = client('sync/one')
    await Promise.all([whenSynced(a), whenSynced(b)])
    a.text.insert(0, 'hello ')
    b.text.insert(0, 'world')
    await whenDoc(a.doc, () => a.text.length === 11)
    await whenDoc(b.doc, () => b.text.length === 11)
    expect(a.text.toString()).toBe(b.text.toString())
  })

  it('a late joiner receives the whole document', async () => {
    const a = client('sync/late')
    await whenSynced(a)
    a.text.insert(0, 'first words')
    const b = client('sync/late')
    await whenSynced(b)
    await whenDoc(b.doc, () => b.text.toString() === 'first words')
  })

  it('edits made before connecting are pushed after the server step 1', async () => {
    const a = client('sync/offline-first')
    await whenSynced(a)
    const b = client('sync/offline-first')
    b.provider.disconnect()
    b.text.insert(0, 'made offline')
    b.provider.connect()
    await whenDoc(a.doc, () => a.text.toString() === 'made offline')
  })

  it('awareness reaches the other client, and its removal when a client leaves', async () => {
    const a = client('sync/aw')
    const b = client('sync/aw')
    await Promise.all([whenSynced(a), whenSynced(b)])
    a.provider.awareness.setLocalStateField('user', { name: 'Alice' })
    const aId = a.doc.clientID
    await whenAwareness(b, (s) => (s.get(aId)?.user as { name?: string } | undefined)?.name === 'Alice')
    a.provider.disconnect()
    await whenAwareness(b, (s) => !s.has(aId))
  })

  it('serves health, readiness and metrics', async () => {
    expect((await fetch(`${quire.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${quire.url}/readyz`)).status).toBe(200)
    const metrics = await (await fetch(`${quire.url}/metrics`)).text()
    expect(metrics).toContain('quire_connections')
    expect(metrics).toContain('quire_persist_seconds_bucket')
  })
})
