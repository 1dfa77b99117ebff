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
    await Promise.all([whenSynced(a, 'a to sync'), whenSynced(b, 'b to sync')])
    a.text.insert(0, 'hello ')
    b.text.insert(0, 'world')
    await whenDoc(a.doc, () => a.text.length === 11, 'b\'s edit to reach a')
    await whenDoc(b.doc, () => b.text.length === 11, 'a\'s edit to reach b')
    expect(a.text.toString()).toBe(b.text.toString())
  })

  it('a late joiner receives the whole document', async () => {
    const a = client('sync/late')
    await whenSynced(a, 'the first client to sync')
    a.text.insert(0, 'first words')
    const b = client('sync/late')
    await whenSynced(b, 'the late joiner to sync')
    await whenDoc(b.doc, () => b.text.toString() === 'first words', 'the late joiner to hold the first client\'s text')
  })

  it('awareness reaches the other client, and its removal when a client leaves', async () => {
    const a = client('sync/aw')
    const b = client('sync/aw')
    await Promise.all([whenSynced(a, 'a to sync'), whenSynced(b, 'b to sync')])
    a.provider.awareness.setLocalStateField('user', { name: 'Alice' })
    const aId = a.doc.clientID
    await whenAwareness(b, (s) => (s.get(aId)?.user as { name?: string } | undefined)?.name === 'Alice', 'b to see Alice\'s presence')
    a.provider.disconnect()
    await whenAwareness(b, (s) => !s.has(aId), 'Alice\'s presence to go from b once she disconnects')
  })

  it('serves health, readiness and metrics', async () => {
    expect((await fetch(`${quire.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${quire.url}/readyz`)).status).toBe(200)
    const metrics = await (await fetch(`${quire.url}/metrics`)).text()
    expect(metrics).toContain('quire_connections')
    expect(metrics).toContain('quire_persist_seconds_bucket')
  })
})
