/**
 * Version history on a real SharedDocument, in process (server/history/):
 * snapshotBefore (what the content API's PUT calls), restore keeping every
 * node, attribute and mark, the word diff and its formats, and automatic
 * versions on a registry (the unload hook, editors from the document's
 * observers).
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { MemoryStore } from '../server/backend/memory-store.js'
import { LocalBus } from '../server/backend/bus.js'
import { DocumentRegistry } from '../server/document/registry.js'
import { History } from '../server/history/history.js'
import { AutoVersions, ANONYMOUS } from '../server/history/auto.js'
import { restoreUpdate } from '../server/history/restore.js'
import { diffTexts, renderDiff } from '../server/history/diff.js'
import { createMetrics } from '../server/ops/metrics.js'
import { createLogger } from '../server/ops/log.js'
import type { Peer } from '../server/document/peer.js'
import { paragraphsOf, setParagraphs } from './helpers/paragraphs.js'
import { waitFor, within } from './helpers/wait.js'

const log = createLogger('silent')
const RETENTION = { keepAllMs: 1e12, hourlyMs: 1e12, dailyMs: 1e12, maxVersions: 1000 }

function setUp () {
  const store = new MemoryStore()
  const metrics = createMetrics()
  const registry = new DocumentRegistry({ store, bus: new LocalBus(), metrics, log })
  const history = new History({ store, metrics, log, retention: RETENTION })
  return { store, metrics, registry, history }
}

/** An update that sets the editor content of a copy of `doc` to these paragraphs. */
function contentUpdate (state: Uint8Array, texts: string[]): Uint8Array {
  const scratch = new Y.Doc()
  Y.applyUpdate(scratch, state)
  const sv = Y.encodeStateVector(scratch)
  setParagraphs(scratch, texts)
  return Y.encodeStateAsUpdate(scratch, sv)
}

const contentOf = (state: Uint8Array): string[] => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, state)
  return paragraphsOf(doc)
}

describe('snapshotBefore (before a PUT or a restore)', () => {
  it('keeps what the document holds, once: not again while nothing changed, nor for a document never written', async () => {
    const { registry, history, store } = setUp()
    const doc = await registry.acquire('put-me')
    expect(await history.snapshotBefore(doc, 'before-put')).toEqual({ version: null, created: false })
    await doc.applyUpdate(contentUpdate(await doc.readState(), ['as it was']))
    const first = await history.snapshotBefore(doc, 'before-put', { id: 'u1', name: 'Una' })
    expect(first.created).toBe(true)
    expect(first.version).toMatchObject({ reason: 'before-put', by: { id: 'u1', name: 'Una' } })
    expect(contentOf((await store.getVersion('put-me', first.version!.id))!.state)).toEqual(['as it was'])
    expect(await history.snapshotBefore(doc, 'before-put')).toEqual({ version: first.version, created: false })
    await doc.applyUpdate(contentUpdate(await doc.readState(), ['changed']))
    expect((await history.snapshotBefore(doc, 'before-put')).created).toBe(true)
    expect((await store.listVersions('put-me')).length).toBe(2)
    registry.release(doc)
  })
})

describe('restoreUpdate', () => {
  it('makes the content read exactly as the version did: nodes, attributes, marks', () => {
    const version = new Y.Doc()
    const fragment = version.getXmlFragment('default')
    const heading = new Y.XmlElement('heading')
    heading.setAttribute('level', 2 as unknown as string)
    const title = new Y.XmlText()
    heading.insert(0, [title])
    const para = new Y.XmlElement('paragraph')
    const body = new Y.XmlText()
    para.insert(0, [body])
    fragment.insert(0, [heading, para])
    title.insert(0, 'Plan')
    body.insert(0, 'bold', { bold: true })
    body.insert(4, ' and plain', {})
    const current = new Y.Doc()
    setParagraphs(current, ['something', 'else entirely'])
    const update = restoreUpdate(Y.encodeStateAsUpdate(current), Y.encodeStateAsUpdate(version))
    expect(update).not.toBeNull()
    Y.applyUpdate(current, update!)
    expect(current.getXmlFragment('default').toString()).toBe(fragment.toString())
    expect(current.getXmlFragment('default').toString()).toContain('<bold>bold</bold>')
    // Already equal: nothing to do.
    expect(restoreUpdate(Y.encodeStateAsUpdate(current), Y.encodeStateAsUpdate(version))).toBeNull()
  })

  it('is a forward change: edits made meanwhile by others merge with it', () => {
    const version = new Y.Doc()
    setParagraphs(version, ['old'])
    const server = new Y.Doc()
    setParagraphs(server, ['new'])
    const other = new Y.Doc()
    Y.applyUpdate(other, Y.encodeStateAsUpdate(server))
    const restore = restoreUpdate(Y.encodeStateAsUpdate(server), Y.encodeStateAsUpdate(version))!
    // Someone appends a paragraph concurrently; both changes meet.
    const fragment = other.getXmlFragment('default')
    const p = new Y.XmlElement('paragraph')
    p.insert(0, [new Y.XmlText('concurrent')])
    fragment.insert(fragment.length, [p])
    Y.applyUpdate(server, Y.encodeStateAsUpdate(other))
    Y.applyUpdate(server, restore)
    expect(paragraphsOf(server)).toContain('old')
    expect(paragraphsOf(server)).toContain('concurrent')
    expect(paragraphsOf(server)).not.toContain('new')
  })
})

describe('diff', () => {
  it('word level, in JSON, text and HTML (escaped)', () => {
    const changes = diffTexts('hello world\n<b> & co', 'hello brave world\n<b> co')
    expect(changes).toEqual([
      { op: '=', text: 'hello ' },
      { op: '+', text: 'brave ' },
      { op: '=', text: 'world\n<b> ' },
      { op: '-', text: '& ' },
      { op: '=', text: 'co' },
    ])
    const ends = { from: 'a', to: 'b' }
    expect(JSON.parse(renderDiff(changes, 'json', ends).body as string)).toEqual({ from: 'a', to: 'b', added: 6, removed: 2, changes })
    expect(renderDiff(changes, 'text', ends).body).toBe('hello {+brave +}world\n<b> [-& -]co')
    const html = renderDiff(changes, 'html', ends)
    expect(html.contentType).toBe('text/html; charset=utf-8')
    expect(html.body).toBe('hello <ins>brave </ins>world<br>&#60;b&#62; <del>&#38; </del>co')
  })
})

describe('automatic versions on a registry', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => { for (const c of cleanups.splice(0)) await c() })

  /** A peer that writes as `user` (what a connection is to the document). */
  const peer = (user: Peer['user']): Peer => ({
    canWrite: true, user, clientIds: new Set(), send: () => {}, acknowledge: () => {}, evict: () => {}, charge: () => {}, refuse: () => {},
  })

  it('one version after the quiet period names the editors (anonymous in open mode); the version owed is taken at unload', async () => {
    const { registry, history, store, metrics } = setUp()
    const auto = new AutoVersions(history, store, log, { quietMs: 50, maxIntervalMs: 60_000, timers: metrics.timersActive })
    auto.start(registry)
    cleanups.push(async () => auto.stop())
    const doc = await registry.acquire('auto')
    const ann = peer({ id: 'ann', name: 'Ann' })
    const open = peer(null)
    doc.addPeer(ann)
    doc.addPeer(open)
    doc.handleUpdate(ann, contentUpdate(await doc.readState(), ['by Ann']))
    doc.handleUpdate(open, contentUpdate(await doc.readState(), ['by Ann', 'by someone']))
    await doc.whenDurable()
    const [v] = await waitFor(() => store.listVersions('auto'), (vs) => vs.length > 0, 'the automatic version')
    expect(v.reason).toBe('auto')
    expect(v.users.sort((a, b) => a.id.localeCompare(b.id))).toEqual([{ id: 'ann', name: 'Ann' }, ANONYMOUS])
    expect(auto.owing).toBe(0)

    // An edit, then everyone leaves at once: the version is taken before the document unloads.
    doc.handleUpdate(ann, contentUpdate(await doc.readState(), ['last words']))
    await doc.whenDurable()
    expect(auto.owing).toBe(1)
    doc.removePeer(ann)
    doc.removePeer(open)
    registry.release(doc)
    await within(registry.closeAll(), 5_000, 'the registry to unload')
    const versions = await store.listVersions('auto')
    expect(versions.length).toBe(2)
    expect(contentOf((await store.getVersion('auto', versions[0].id))!.state)).toEqual(['last words'])
    expect(versions[0].users).toEqual([{ id: 'ann', name: 'Ann' }])
    expect(auto.owing).toBe(0)
  })
})
