/**
 * Version history on Redis (docs/history.md): two instances whose users edit
 * one document take one automatic version between them, naming everyone; a
 * restore through one instance is seen live by a stock client on the other;
 * and on a Redis Cluster every version key shares the document's slot and
 * the whole API works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, startRedisCluster, type RedisCluster, type RedisProcess } from '../harness/redis.js'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { whenDoc, type TestClient } from './helpers/clients.js'
import { TEST_SECRET } from './helpers/tokens.js'
import { appendParagraph, paragraphsOf, setParagraphs } from './helpers/paragraphs.js'
import { readMetrics } from './helpers/metrics.js'
import { apiKey, HISTORY_API_KEY, historyEditor, listVersions, takeVersion, versionsUrl, versionText, whenStored, writeAndStore } from './helpers/history.js'
import { sleep, waitFor } from './helpers/wait.js'
import { docKeys, versionKeys } from '../server/backend/redis/keys.js'
import { keySlot } from '../server/backend/redis/slot.js'

const QUIET_MS = 300
const ENV = { API_KEY: HISTORY_API_KEY, AUTH_SECRET: TEST_SECRET, HISTORY_QUIET_MS: String(QUIET_MS) }

let redis: RedisProcess
let cluster: RedisCluster
const running: QuireProcess[] = []
const clients: TestClient[] = []
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()])
})
afterAll(async () => {
  for (const c of clients) c.destroy()
  await Promise.all(running.map((q) => q.kill()))
  await Promise.all([redis?.stop(), cluster?.stop()])
})

async function instances (env: Record<string, string>, count: number): Promise<QuireProcess[]> {
  const started = await Promise.all(Array.from({ length: count }, () => startQuire({ ...ENV, ...env })))
  running.push(...started)
  return started
}

const editor = (q: QuireProcess, name: string, sub: string): Promise<TestClient> => historyEditor(q, name, sub, { prefix: 'r/', cleanup: clients })

/** Automatic versions an instance took, from its metrics. */
const autoTaken = async (q: QuireProcess): Promise<number> => (await readMetrics(q.url)).get('quire_versions_total{reason="auto"}') ?? 0

describe('two instances on Redis', () => {
  it('users editing on both take one automatic version between them, naming everyone', async () => {
    const [a, b] = await instances({ REDIS_URL: redis.url }, 2)
    const name = 'r/shared'
    const ann = await editor(a, name, 'ann')
    const bob = await editor(b, name, 'bob')
    setParagraphs(ann.doc, ['from Ann on A'])
    await whenDoc(bob.doc, () => paragraphsOf(bob.doc).length === 1, 'Ann\'s edit to reach Bob on the other instance')
    appendParagraph(bob.doc, 'from Bob on B')
    await whenDoc(ann.doc, () => paragraphsOf(ann.doc).length === 2, 'Bob\'s edit to reach Ann on the other instance')
    const [v] = await waitFor(() => listVersions(a, name), (vs) => vs.length > 0, 'the automatic version')
    expect(v.users.map((u) => u.id).sort()).toEqual(['ann', 'bob'])
    expect(await versionText(b, name, v.id)).toBe('from Ann on A\n\nfrom Bob on B')
    // Both instances owed it; whoever lost the claim looked again and found nothing new. Several quiet periods later:
    await sleep(4 * QUIET_MS)
    expect((await listVersions(a, name)).length).toBe(1)
    expect((await autoTaken(a)) + (await autoTaken(b))).toBe(1)

    // Bob goes on alone: the next version names him only, wherever it is taken.
    appendParagraph(bob.doc, 'Bob again')
    const next = await waitFor(() => listVersions(b, name), (vs) => vs.length === 2, 'the second automatic version')
    expect(next[0].users).toEqual([{ id: 'bob', name: 'BOB' }])
  })

  it('a restore through one instance is seen live by a stock client on the other', async () => {
    const [a, b] = await instances({ REDIS_URL: redis.url, HISTORY_AUTO: 'off' }, 2)
    const name = 'r/restore'
    const writer = await editor(a, name, 'ann')
    const watcher = await editor(b, name, 'bob')
    await writeAndStore(a, name, writer, ['the good one'])
    const good = await takeVersion(a, name, 'good')
    setParagraphs(writer.doc, ['the bad one'])
    await whenDoc(watcher.doc, () => paragraphsOf(watcher.doc)[0] === 'the bad one', 'the bad edit to reach the other instance')
    const res = await fetch(versionsUrl(a, name, `/${good.id}/restore`), { method: 'POST', headers: apiKey })
    expect(res.status).toBe(200)
    await whenDoc(watcher.doc, () => JSON.stringify(paragraphsOf(watcher.doc)) === '["the good one"]', 'the restore to reach the client on the other instance')
    // The version of what was there before is in the shared store: the other instance lists it.
    const listed = await listVersions(b, name)
    expect(listed.map((v) => v.reason)).toEqual(['before-restore', 'manual'])
    expect(await versionText(b, name, listed[0].id)).toBe('the bad one')
  })
})

describe('Redis Cluster', () => {
  it('keeps every version key in the document\'s slot, whatever its name', () => {
    for (const name of ['plain', 'a{b}c', '{', 'ünï/{x}']) {
      const slot = keySlot(docKeys(name).log)
      expect(Object.values(versionKeys(name)).map((k) => keySlot(k))).toEqual(Array(5).fill(slot))
    }
  })

  it('serves the whole API: automatic and on demand, content, diff, restore', async () => {
    const [q] = await instances({ REDIS_CLUSTER_NODES: cluster.seeds }, 1)
    const name = 'r/{cluster}/doc'
    const ann = await editor(q, name, 'ann')
    setParagraphs(ann.doc, ['one'])
    const [auto] = await waitFor(() => listVersions(q, name), (vs) => vs.length === 1, 'the automatic version on the cluster')
    expect(auto.users).toEqual([{ id: 'ann', name: 'ANN' }])
    appendParagraph(ann.doc, 'two')
    await whenStored(q, name, ['one', 'two'])
    const manual = await takeVersion(q, name, 'both')
    const diff = await fetch(versionsUrl(q, name, `/${auto.id}/diff/${manual.id}?format=text`), { headers: apiKey })
    expect(await diff.text()).toBe('one{+\n\ntwo+}')
    const res = await fetch(versionsUrl(q, name, `/${auto.id}/restore`), { method: 'POST', headers: apiKey })
    expect(res.status).toBe(200)
    await whenDoc(ann.doc, () => JSON.stringify(paragraphsOf(ann.doc)) === '["one"]', 'the restore to reach the client')
    expect(await versionText(q, name, manual.id)).toBe('one\n\ntwo')
  })
})
