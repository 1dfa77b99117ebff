/**
 * Version history over HTTP against a real Quire process (docs/history.md):
 * automatic versions (quiet period, maximum interval, at unload) naming who
 * edited, versions on demand, content in a format, diffs, restore seen live
 * by stock clients, access (API key, tokens, read-only), paging, budgets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { whenDoc, type TestClient } from './helpers/clients.js'
import { mintToken, TEST_SECRET } from './helpers/tokens.js'
import { appendParagraph, paragraphsOf, setParagraphs } from './helpers/paragraphs.js'
import { allZero, liveCounts, readMetrics } from './helpers/metrics.js'
import { sleep, waitFor } from './helpers/wait.js'
import type { VersionInfo } from '../server/backend/store.js'
import { apiKey, bearer, HISTORY_API_KEY, historyEditor, listVersions, takeVersion, versionsUrl, versionText, whenStored, writeAndStore } from './helpers/history.js'

const QUIET_MS = 300
/** Long enough that nothing in a test is ever "quiet" by accident. */
const NEVER_MS = '600000'

const ENV = { API_KEY: HISTORY_API_KEY, AUTH_SECRET: TEST_SECRET }
/** Automatic versions after QUIET_MS. */
let quick: QuireProcess
/** Automatic versions only when a document unloads: nothing else takes one behind a test's back. */
let calm: QuireProcess
const running: QuireProcess[] = []
const clients: TestClient[] = []
beforeAll(async () => {
  [quick, calm] = await Promise.all([
    startQuire({ ...ENV, HISTORY_QUIET_MS: String(QUIET_MS), HISTORY_MAX_INTERVAL_MS: NEVER_MS }),
    startQuire({ ...ENV, HISTORY_QUIET_MS: NEVER_MS, HISTORY_MAX_INTERVAL_MS: NEVER_MS }),
  ])
  running.push(quick, calm)
})
afterAll(async () => {
  for (const c of clients) c.destroy()
  await Promise.all(running.map((q) => q.kill()))
})

const editor = (q: QuireProcess, name: string, sub: string, opts: { readonly?: boolean } = {}): Promise<TestClient> =>
  historyEditor(q, name, sub, { prefix: 'h/', readonly: opts.readonly, cleanup: clients })

const byId = (users: VersionInfo['users']): VersionInfo['users'] => [...users].sort((a, b) => a.id.localeCompare(b.id))

describe('automatic versions', () => {
  it('one after the quiet period, naming everyone who edited; none while nothing changes; none left owed', async () => {
    const name = 'h/auto'
    const ann = await editor(quick, name, 'ann')
    const bob = await editor(quick, name, 'bob')
    setParagraphs(ann.doc, ['one'])
    await whenDoc(bob.doc, () => paragraphsOf(bob.doc).length === 1, 'Ann\'s paragraph to reach Bob')
    appendParagraph(bob.doc, 'two')
    const lastEdit = Date.now()
    const [v] = await waitFor(() => listVersions(quick, name), (vs) => vs.length > 0, 'the automatic version')
    expect(v.reason).toBe('auto')
    expect(byId(v.users)).toEqual([{ id: 'ann', name: 'ANN' }, { id: 'bob', name: 'BOB' }])
    expect(v.at).toBeGreaterThanOrEqual(lastEdit + QUIET_MS - 5)
    expect(v.bytes).toBeGreaterThan(0)
    expect(await versionText(quick, name, v.id)).toBe('one\n\ntwo')
    // Nothing changes for several quiet periods: no other version.
    await sleep(3 * QUIET_MS)
    expect((await listVersions(quick, name)).length).toBe(1)
    // Everyone leaves: nothing was owed, nothing is taken at unload, no timer is left.
    ann.destroy()
    bob.destroy()
    await waitFor(() => liveCounts(quick.url), allZero, 'connections, documents and timers back to zero')
    expect((await listVersions(quick, name)).length).toBe(1)
  })

  it('at least every HISTORY_MAX_INTERVAL_MS while editing without a pause', async () => {
    const q = await startQuire({ ...ENV, HISTORY_QUIET_MS: NEVER_MS, HISTORY_MAX_INTERVAL_MS: '400' })
    running.push(q)
    const name = 'h/busy'
    const ann = await editor(q, name, 'ann')
    let n = 0
    const started = Date.now()
    // Typing on, a paragraph every 100 ms or so: never quiet; versions come from the maximum interval alone.
    const versions = await waitFor(async () => {
      appendParagraph(ann.doc, `line ${++n}`)
      return listVersions(q, name)
    }, (vs) => vs.length >= 2, 'two versions while editing goes on')
    expect(versions.every((v) => v.reason === 'auto')).toBe(true)
    // And no more often: each is due 400 ms after the first edit it owes, which comes after the version before.
    expect(versions.length).toBeLessThanOrEqual(Math.floor((Date.now() - started) / 400))
  })

  it('the version owed is taken when everyone leaves, without waiting for the quiet period', async () => {
    const name = 'h/leaving'
    const ann = await editor(calm, name, 'ann')
    await writeAndStore(calm, name, ann, ['said', 'and gone'])
    expect(await listVersions(calm, name)).toEqual([])
    ann.destroy()
    const [v] = await waitFor(() => listVersions(calm, name), (vs) => vs.length === 1, 'the version owed to be taken as the document unloads')
    expect(v).toMatchObject({ reason: 'auto', users: [{ id: 'ann', name: 'ANN' }] })
    expect(await versionText(calm, name, v.id)).toBe('said\n\nand gone')
  })
})

describe('versions on demand, content, diff', () => {
  it('POST takes one now (201) with its label and who asked; its content comes in text and as Yjs', async () => {
    const name = 'h/manual'
    const ann = await editor(calm, name, 'ann')
    await writeAndStore(calm, name, ann, ['Draft text'])
    const v = await takeVersion(calm, name, '  Draft 1  ', bearer(await mintToken({ sub: 'ann', name: 'Ann', allowedDocumentNames: ['h/*'] })))
    expect(v).toMatchObject({ reason: 'manual', label: 'Draft 1', by: { id: 'ann', name: 'Ann' }, users: [{ id: 'ann', name: 'ANN' }] })
    expect(await versionText(calm, name, v.id)).toBe('Draft text')
    const res = await fetch(versionsUrl(calm, name, `/${v.id}?format=yjs`), { headers: apiKey })
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
    expect(res.headers.get('x-quire-version')).toBe(v.id)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, new Uint8Array(await res.arrayBuffer()))
    expect(paragraphsOf(doc)).toEqual(['Draft text'])
    // On demand means every time, even unchanged; and the list is newest first.
    const again = await takeVersion(calm, name)
    expect(again.users).toEqual([])
    expect((await listVersions(calm, name)).map((x) => x.id).slice(0, 2)).toEqual([again.id, v.id])
  })

  it('diff between two versions and against the current document, as JSON, text and HTML', async () => {
    const name = 'h/diff'
    const ann = await editor(calm, name, 'ann')
    await writeAndStore(calm, name, ann, ['hello world', 'a <b> & c'])
    const v1 = await takeVersion(calm, name)
    const text = ann.doc.getXmlFragment('default').get(0) as Y.XmlElement
    ;(text.get(0) as Y.XmlText).insert(6, 'brave ')
    await whenStored(calm, name, ['hello brave world', 'a <b> & c'])
    const v2 = await takeVersion(calm, name)
    const json = await (await fetch(versionsUrl(calm, name, `/${v1.id}/diff/${v2.id}`), { headers: apiKey })).json() as { added: number, removed: number, changes: unknown[] }
    expect(json).toMatchObject({ from: v1.id, to: v2.id, added: 6, removed: 0 })
    expect(json.changes).toContainEqual({ op: '+', text: 'brave ' })
    expect(await (await fetch(versionsUrl(calm, name, `/${v1.id}/diff/${v2.id}?format=text`), { headers: apiKey })).text()).toBe('hello {+brave +}world\n\na <b> & c')
    const html = await fetch(versionsUrl(calm, name, `/${v1.id}/diff/${v2.id}?format=html`), { headers: apiKey })
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await html.text()).toBe('hello <ins>brave </ins>world<br><br>a &#60;b&#62; &#38; c')
    await writeAndStore(calm, name, ann, ['hello brave world'])
    expect(await (await fetch(versionsUrl(calm, name, `/${v2.id}/diff/current?format=text`), { headers: apiKey })).text()).toBe('hello brave world[-\n\na <b> & c-]')
    expect(await (await fetch(versionsUrl(calm, name, `/current/diff/${v1.id}?format=text`), { headers: apiKey })).text()).toBe('hello [-brave -]world{+\n\na <b> & c+}')
  })
})

describe('restore', () => {
  it('a forward change that connected stock clients see live, after a version of what was there', async () => {
    const name = 'h/restore'
    const ann = await editor(calm, name, 'ann')
    const watcher = await editor(calm, name, 'watcher', { readonly: true })
    await writeAndStore(calm, name, ann, ['first draft'])
    const v1 = await takeVersion(calm, name, 'first')
    setParagraphs(ann.doc, ['second draft', 'with more'])
    await whenDoc(watcher.doc, () => paragraphsOf(watcher.doc)[0] === 'second draft', 'the second draft to reach the watcher')
    const svBefore = Y.encodeStateVector(watcher.doc)

    const res = await fetch(versionsUrl(calm, name, `/${v1.id}/restore`), { method: 'POST', headers: bearer(await mintToken({ sub: 'rita', name: 'Rita', allowedDocumentNames: ['h/*'] })) })
    expect(res.status).toBe(200)
    const done = await res.json() as { restored: VersionInfo, before: VersionInfo }
    expect(done.restored.id).toBe(v1.id)
    expect(done.before).toMatchObject({ reason: 'before-restore', by: { id: 'rita', name: 'Rita' }, users: [{ id: 'ann', name: 'ANN' }] })
    expect(await versionText(calm, name, done.before.id)).toBe('second draft\n\nwith more')
    // Live, for everyone connected: the watcher and the writer.
    await whenDoc(watcher.doc, () => JSON.stringify(paragraphsOf(watcher.doc)) === '["first draft"]', 'the restored content to reach the watcher')
    await whenDoc(ann.doc, () => JSON.stringify(paragraphsOf(ann.doc)) === '["first draft"]', 'the restored content to reach the writer')
    // Forward: nothing was taken back, something was added.
    expect(Y.encodeStateVector(watcher.doc)).not.toEqual(svBefore)
    expect(await versionText(calm, name, v1.id)).toBe('first draft')

    // The restored content is the next automatic version (here: when everyone leaves), naming who restored it.
    ann.destroy()
    watcher.destroy()
    const [latest] = await waitFor(() => listVersions(calm, name), (vs) => vs[0].reason === 'auto', 'the automatic version after the restore')
    expect(latest.users).toEqual([{ id: 'rita', name: 'Rita' }])
    expect(await versionText(calm, name, latest.id)).toBe('first draft')
    // Restoring what is already there changes nothing and keeps nothing new.
    const count = (await listVersions(calm, name)).length
    const again = await (await fetch(versionsUrl(calm, name, `/${v1.id}/restore`), { method: 'POST', headers: apiKey })).json() as { before: VersionInfo }
    expect(again.before.id).toBe(latest.id)
    expect((await listVersions(calm, name)).length).toBe(count)
  })
})

describe('access and errors', () => {
  it('API key, tokens covering the document (read-only ones read), nobody else', async () => {
    const name = 'h/access'
    const ann = await editor(calm, name, 'ann')
    await writeAndStore(calm, name, ann, ['x'])
    const v = await takeVersion(calm, name)
    const reader = bearer(await mintToken({ sub: 'r', readonlyDocumentNames: ['h/*'] }))
    const stranger = bearer(await mintToken({ sub: 's', allowedDocumentNames: ['other/*'] }))
    expect((await fetch(versionsUrl(calm, name))).status).toBe(401)
    expect((await fetch(versionsUrl(calm, name), { headers: bearer('not-a-token') })).status).toBe(401)
    expect((await fetch(versionsUrl(calm, name), { headers: stranger })).status).toBe(403)
    expect((await fetch(versionsUrl(calm, name), { headers: reader })).status).toBe(200)
    expect((await fetch(versionsUrl(calm, name, `/${v.id}?format=text`), { headers: reader })).status).toBe(200)
    expect((await fetch(versionsUrl(calm, name, `/${v.id}/diff/current`), { headers: reader })).status).toBe(200)
    expect((await fetch(versionsUrl(calm, name), { method: 'POST', headers: reader })).status).toBe(403)
    expect((await fetch(versionsUrl(calm, name, `/${v.id}/restore`), { method: 'POST', headers: reader })).status).toBe(403)
    expect((await listVersions(calm, name)).length).toBe(1)
  })

  it('pages with a cursor', async () => {
    const name = 'h/pages'
    const ann = await editor(calm, name, 'ann')
    await writeAndStore(calm, name, ann, ['p'])
    const made: string[] = []
    for (let i = 0; i < 5; i++) made.unshift((await takeVersion(calm, name)).id)
    const seen: string[] = []
    let next: string | null = null
    do {
      const page = await (await fetch(versionsUrl(calm, name, `?limit=2${next === null ? '' : `&before=${next}`}`), { headers: apiKey })).json() as { versions: VersionInfo[], next: string | null }
      expect(page.versions.length).toBeLessThanOrEqual(2)
      seen.push(...page.versions.map((v) => v.id))
      next = page.next
    } while (next !== null)
    expect(seen).toEqual(made)
  })

  it('says what is wrong: 400, 404, 405, 413', async () => {
    const name = 'h/errors'
    const ann = await editor(calm, name, 'ann')
    await writeAndStore(calm, name, ann, ['e'])
    const v = await takeVersion(calm, name)
    const status = async (path: string, init: RequestInit = {}): Promise<number> => (await fetch(versionsUrl(calm, name, path), { ...init, headers: apiKey })).status
    expect(await status('?limit=0')).toBe(400)
    expect(await status('?limit=101')).toBe(400)
    expect(await status('?before=nope')).toBe(400)
    expect(await status(`/${v.id}?format=docx`)).toBe(400)
    expect(await status(`/${v.id}/diff/current?format=pdf`)).toBe(400)
    expect(await status('', { method: 'POST', body: 'not json' })).toBe(400)
    expect(await status('', { method: 'POST', body: JSON.stringify({ label: 7 }) })).toBe(400)
    expect(await status('', { method: 'POST', body: JSON.stringify({ label: 'x'.repeat(201) }) })).toBe(400)
    expect(await status('', { method: 'POST', body: 'x'.repeat(20_000) })).toBe(413)
    expect(await status('/000000000000-00000000')).toBe(404)
    expect(await status('/000000000000-00000000/restore', { method: 'POST' })).toBe(404)
    expect(await status(`/${v.id}/diff/000000000000-00000000`)).toBe(404)
    expect(await status('', { method: 'DELETE' })).toBe(405)
    expect(await status(`/${v.id}`, { method: 'POST' })).toBe(405)
    expect(await status(`/${v.id}/restore`)).toBe(405)
    expect((await fetch(`${calm.url}/api/documents/a%2F%2Fb/versions`, { headers: apiKey })).status).toBe(400)
    expect((await listVersions(calm, name)).length).toBe(1)
  })

  it('HISTORY_MAX_VERSIONS: versions on demand beyond it are refused (429, counted); automatic ones push the oldest out', async () => {
    const q = await startQuire({ ...ENV, HISTORY_QUIET_MS: String(QUIET_MS), HISTORY_MAX_VERSIONS: '3' })
    running.push(q)
    const name = 'h/full'
    const ann = await editor(q, name, 'ann')
    setParagraphs(ann.doc, ['a'])
    const auto = await waitFor(() => listVersions(q, name), (vs) => vs.length === 1, 'the first automatic version')
    const manual = [await takeVersion(q, name), await takeVersion(q, name)]
    const refused = await fetch(versionsUrl(q, name), { method: 'POST', headers: apiKey, body: '{}' })
    expect(refused.status).toBe(429)
    expect((await readMetrics(q.url)).get('quire_limit_refusals_total{limit="history_versions"}')).toBe(1)
    setParagraphs(ann.doc, ['b'])
    const after = await waitFor(() => listVersions(q, name), (vs) => vs[0].reason === 'auto' && vs[0].id !== auto[0].id && vs.length === 3, 'the next automatic version, and the oldest thinned out')
    expect(after.map((v) => v.id)).toEqual([after[0].id, manual[1].id, manual[0].id])
    expect((await readMetrics(q.url)).get('quire_versions_thinned_total')).toBe(1)
  })
})
