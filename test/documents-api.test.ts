/**
 * The content API (server/http/documents.ts, docs/api.md) against a real
 * Quire process: every route, every format, every refusal, and that a
 * refused request changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { connectClient, whenClosed, whenDoc, whenSynced } from './helpers/clients.js'
import { mintToken, TEST_SECRET } from './helpers/tokens.js'
import { CLOSE, CLOSE_REASONS } from '../common/close-codes.js'
import { waitFor } from './helpers/wait.js'

const API_KEY = 'api-key-for-the-tests-0123456789'
const MAX_BODY = 65536
const LIST_MAX = 50
let quire: QuireProcess
beforeAll(async () => {
  quire = await startQuire({ API_KEY, AUTH_SECRET: TEST_SECRET, MAX_MESSAGE_BYTES: String(MAX_BODY), API_LIST_MAX: String(LIST_MAX) })
})
afterAll(async () => { await quire.kill() })

const KEY = { authorization: `Bearer ${API_KEY}` }
let counter = 0
const fresh = (base = 'c'): string => `content/${base}-${process.pid}-${++counter}`
const url = (name: string, query = ''): string => `${quire.url}/api/documents/${encodeURIComponent(name)}${query}`

async function create (name: string, content: unknown, format?: string, headers: Record<string, string> = KEY): Promise<Response> {
  return fetch(`${quire.url}/api/documents`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name, content, format }),
  })
}
async function get (name: string, query = '', headers: Record<string, string> = KEY): Promise<Response> {
  return fetch(url(name, query), { headers })
}
async function read (name: string, format: string): Promise<string> {
  const res = await get(name, `?format=${format}`)
  expect(res.status, `GET ${name} as ${format}`).toBe(200)
  return res.text()
}
async function send (method: 'PUT' | 'PATCH', name: string, body: string | Uint8Array, contentType: string, query = '', headers: Record<string, string> = KEY): Promise<Response> {
  return fetch(url(name, query), { method, headers: { ...headers, 'content-type': contentType }, body: typeof body === 'string' ? body : body.slice() })
}
async function refusals (label: string): Promise<number> {
  const text = await (await fetch(`${quire.url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`quire_limit_refusals_total{limit="${label}"}`))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}
/** The editor's fragment as a connected stock client holds it. */
const fragmentOf = (doc: Y.Doc): Y.XmlFragment => doc.getXmlFragment('default')

const RICH_MARKDOWN = '# Title\n\nSome **bold**, *italic* and `code` with a [link](https://example.com/a).\n\n- one\n- two\n\n1. first\n2. second\n\n> quoted\n\n```js\nlet x = 1\n```'
const RICH_HTML = '<h1>Title</h1><p>Some <strong>bold</strong>, <em>italic</em> and <code>code</code> with a <a target="_blank" rel="noopener noreferrer nofollow" href="https://example.com/a">link</a>.</p><ul><li><p>one</p></li><li><p>two</p></li></ul><ol><li><p>first</p></li><li><p>second</p></li></ol><blockquote><p>quoted</p></blockquote><pre><code class="language-js">let x = 1</code></pre>'

describe('creating', () => {
  it('POST creates from Markdown (201, Location), and the document reads back in every format', async () => {
    const name = fresh()
    const res = await create(name, RICH_MARKDOWN, 'markdown')
    expect(res.status).toBe(201)
    expect(res.headers.get('location')).toBe(`/api/documents/${encodeURIComponent(name)}`)
    expect(await res.json()).toEqual({ name, created: true })
    expect(await read(name, 'html')).toBe(RICH_HTML)
    expect(await read(name, 'markdown')).toBe(RICH_MARKDOWN)
    expect(await read(name, 'text')).toBe('Title\n\nSome bold, italic and code with a link.\n\none\n\ntwo\n\nfirst\n\nsecond\n\nquoted\n\nlet x = 1')
    const json = JSON.parse(await read(name, 'json')) as { type: string, content: Array<{ type: string }> }
    expect(json.type).toBe('doc')
    expect(json.content.map((n) => n.type)).toEqual(['heading', 'paragraph', 'bulletList', 'orderedList', 'blockquote', 'codeBlock'])
    const yjs = await get(name, '?format=yjs')
    expect(yjs.headers.get('content-type')).toBe('application/octet-stream')
    const doc = new Y.Doc()
    Y.applyUpdate(doc, new Uint8Array(await yjs.arrayBuffer()))
    expect(fragmentOf(doc).length).toBe(6)
  })

  it('POST creates from HTML, ProseMirror JSON (object or string), text, a Yjs update, or nothing', async () => {
    const html = fresh()
    expect((await create(html, RICH_HTML, 'html')).status).toBe(201)
    expect(await read(html, 'markdown')).toBe(RICH_MARKDOWN)

    const json = fresh()
    const pm = JSON.parse(await read(html, 'json')) as unknown
    expect((await create(json, pm)).status).toBe(201)
    expect(await read(json, 'html')).toBe(RICH_HTML)
    const jsonString = fresh()
    expect((await create(jsonString, JSON.stringify(pm), 'json')).status).toBe(201)
    expect(await read(jsonString, 'html')).toBe(RICH_HTML)

    const text = fresh()
    expect((await create(text, 'first line\nsecond line\n\nnext paragraph', 'text')).status).toBe(201)
    expect(await read(text, 'html')).toBe('<p>first line<br>second line</p><p>next paragraph</p>')

    const yjs = fresh()
    const state = Buffer.from(await (await get(html, '?format=yjs')).arrayBuffer()).toString('base64')
    expect((await create(yjs, state, 'yjs')).status).toBe(201)
    expect(await read(yjs, 'html')).toBe(RICH_HTML)

    const empty = fresh()
    expect((await create(empty, undefined)).status).toBe(201)
    expect(await read(empty, 'html')).toBe('')
    expect((await get(empty)).status).toBe(200)
  })

  it('409 for a document that exists (created, or written by an editor), and nothing changes', async () => {
    const name = fresh()
    expect((await create(name, 'first', 'text')).status).toBe(201)
    const again = await create(name, 'second', 'text')
    expect(again.status).toBe(409)
    expect(await again.json()).toEqual({ error: 'document exists' })
    expect(await read(name, 'text')).toBe('first')

    // A document an editor wrote into exists too: seeding it now would add the content a second time.
    const typed = fresh()
    const token = await mintToken({ sub: 'writer', allowedDocumentNames: ['content/*'] })
    const client = connectClient(quire.wsUrl, typed, { token })
    await whenSynced(client, 'an editor to sync')
    const para = new Y.XmlElement('paragraph')
    para.insert(0, [new Y.XmlText('typed')])
    fragmentOf(client.doc).insert(0, [para])
    // Stored once the API can read it.
    await waitFor(async () => (await get(typed, '?format=text')).status, (status) => status === 200, 'the typed document to exist')
    expect((await create(typed, 'seed', 'text')).status).toBe(409)
    expect(await read(typed, 'text')).toBe('typed')
    client.destroy()
  })

  it('editors already on a new (empty) document see the created content at once, once', async () => {
    const name = fresh()
    const token = await mintToken({ sub: 'early', allowedDocumentNames: ['content/*'] })
    const client = connectClient(quire.wsUrl, name, { token })
    await whenSynced(client, 'an early editor to sync')
    expect((await create(name, '<p>welcome</p>', 'html')).status).toBe(201)
    await whenDoc(client.doc, () => fragmentOf(client.doc).toString() === '<paragraph>welcome</paragraph>', 'the created content to reach the early editor')
    client.destroy()
  })

  it('bad creations: 400 with a one-line reason', async () => {
    const cases: Array<[unknown, string]> = [
      [{ name: '', content: 'x', format: 'text' }, 'invalid document name'],
      [{ name: 'a//b', content: 'x', format: 'text' }, 'invalid document name'],
      [{ name: fresh(), content: 'x' }, 'format is required with string content: one of json, html, markdown, text, yjs'],
      [{ name: fresh(), content: 'x', format: 'docx' }, 'unknown format "docx": one of json, html, markdown, text, yjs'],
      [{ name: fresh(), content: { type: 'doc', content: [{ type: 'video' }] }, format: 'json' }, "content does not fit the editor's schema: Unknown node type: video"],
      [{ name: fresh(), content: '{"type":"doc"', format: 'json' }, 'body is not JSON'],
      [{ name: fresh(), content: '////', format: 'yjs' }, 'body is not a valid Yjs update'],
      [{ name: fresh(), content: 'nul\u0000inside', format: 'markdown' }, 'body contains NUL characters: not text'],
      [[1, 2], 'body must be a JSON object'],
    ]
    for (const [body, reason] of cases) {
      const res = await fetch(`${quire.url}/api/documents`, { method: 'POST', headers: { ...KEY, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      expect(res.status, JSON.stringify(body)).toBe(400)
      const { error } = await res.json() as { error: string }
      expect(error.startsWith(reason), `${error} should start with ${reason}`).toBe(true)
      expect(error).not.toContain('\n')
    }
    const notJson = await fetch(`${quire.url}/api/documents`, { method: 'POST', headers: KEY, body: 'name=x' })
    expect(notJson.status).toBe(400)
  })
})

describe('reading', () => {
  it('404 for a document never created, in every format, HEAD too', async () => {
    for (const format of ['json', 'html', 'markdown', 'text', 'yjs']) {
      const res = await get(fresh('never'), `?format=${format}`)
      expect(res.status).toBe(404)
      expect(await res.json()).toEqual({ error: 'no such document (create it with POST /api/documents)' })
    }
    expect((await fetch(url(fresh('never')), { method: 'HEAD', headers: KEY })).status).toBe(404)
  })

  it('Accept chooses the format when ?format= does not; ?format= wins; */* and none give JSON', async () => {
    const name = fresh()
    await create(name, '# Hi', 'markdown')
    const by = async (accept: string | undefined, query = ''): Promise<[string | null, string]> => {
      const res = await get(name, query, accept === undefined ? KEY : { ...KEY, accept })
      return [res.headers.get('content-type'), await res.text()]
    }
    expect(await by('text/html')).toEqual(['text/html; charset=utf-8', '<h1>Hi</h1>'])
    expect(await by('text/markdown')).toEqual(['text/markdown; charset=utf-8', '# Hi'])
    expect(await by('text/plain')).toEqual(['text/plain; charset=utf-8', 'Hi'])
    expect(await by('application/json')).toEqual(['application/json', '{"type":"doc","content":[{"type":"heading","attrs":{"level":1},"content":[{"type":"text","text":"Hi"}]}]}'])
    expect((await by('text/plain;q=0.5, text/markdown;q=0.9, image/png'))[1]).toBe('# Hi')
    expect((await by('*/*'))[0]).toBe('application/json')
    expect((await by(undefined))[0]).toBe('application/json')
    expect((await by('text/html', '?format=markdown'))[1]).toBe('# Hi')
    expect((await by('application/octet-stream'))[0]).toBe('application/octet-stream')
    const refused = await get(name, '', { ...KEY, accept: 'image/png' })
    expect(refused.status).toBe(406)
    expect((await get(name, '?format=pdf')).status).toBe(400)
  })

  it('HEAD answers the headers of GET without a body', async () => {
    const name = fresh()
    await create(name, '<p>some text</p>', 'html')
    const head = await fetch(url(name, '?format=html'), { method: 'HEAD', headers: KEY })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength('<p>some text</p>'))
    expect(await head.text()).toBe('')
  })

  it('HTML answers carry a policy under which nothing in them runs, and hostile markup does not survive', async () => {
    const name = fresh()
    await create(name, '<p><a href="javascript:alert(1)">x</a><img src=x onerror="alert(1)"><script>alert(1)</script><span onclick="y">t</span></p>', 'html')
    const res = await get(name, '?format=html')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    const html = await res.text()
    expect(html).not.toMatch(/script|onerror|onclick|javascript:/)
  })

  it('names are percent-encoded, slashes as they are or as %2F (which also reaches names ending in /state)', async () => {
    const name = `${fresh('deep')}/ü/state`
    expect((await create(name, 'deep', 'text')).status).toBe(201)
    const res = await fetch(`${quire.url}/api/documents/${name.split('/').slice(0, -1).map(encodeURIComponent).join('/')}%2Fstate?format=text`, { headers: KEY })
    expect(await res.text()).toBe('deep')
    expect((await fetch(`${quire.url}/api/documents/%E0%A4%A?format=text`, { headers: KEY })).status).toBe(400)
  })
})

describe('writing', () => {
  it('PUT replaces the content as a change: live editors see it, unchanged paragraphs keep their Yjs identity', async () => {
    const name = fresh()
    await create(name, '<p>stays</p><p>goes</p>', 'html')
    const token = await mintToken({ sub: 'live', allowedDocumentNames: ['content/*'] })
    const client = connectClient(quire.wsUrl, name, { token })
    await whenSynced(client, 'an editor to sync')
    const kept = fragmentOf(client.doc).get(0)
    const res = await send('PUT', name, 'stays\n\n## New heading', 'text/markdown')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true })
    await whenDoc(client.doc, () => fragmentOf(client.doc).toString() === '<paragraph>stays</paragraph><heading level="2">New heading</heading>', 'the replaced content to reach the editor')
    // Not a reset: the paragraph that stayed is the very same Yjs element.
    expect(fragmentOf(client.doc).get(0)).toBe(kept)
    expect(await read(name, 'markdown')).toBe('stays\n\n## New heading')
    client.destroy()
  })

  it('PUT takes HTML, Markdown, JSON, text and a Yjs document; the same content again changes nothing', async () => {
    const name = fresh()
    await create(name, 'x', 'text')
    expect((await send('PUT', name, RICH_HTML, 'text/html')).status).toBe(200)
    expect(await read(name, 'markdown')).toBe(RICH_MARKDOWN)
    expect((await send('PUT', name, 'plain', 'text/plain; charset=utf-8')).status).toBe(200)
    expect(await read(name, 'html')).toBe('<p>plain</p>')
    expect((await send('PUT', name, JSON.stringify({ type: 'doc', content: [{ type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'h' }] }] }), 'application/json')).status).toBe(200)
    expect(await read(name, 'html')).toBe('<h2>h</h2>')
    const other = fresh()
    await create(other, RICH_MARKDOWN, 'markdown')
    const state = new Uint8Array(await (await get(other, '?format=yjs')).arrayBuffer())
    expect((await send('PUT', name, state, 'application/octet-stream')).status).toBe(200)
    expect(await read(name, 'html')).toBe(RICH_HTML)
    // ?format= overrides Content-Type.
    expect((await send('PUT', name, '*md*', 'text/plain', '?format=markdown')).status).toBe(200)
    expect(await read(name, 'html')).toBe('<p><em>md</em></p>')

    const before = await (await get(name, '?format=yjs')).arrayBuffer()
    expect((await send('PUT', name, '*md*', 'text/markdown')).status).toBe(200)
    const after = await (await get(name, '?format=yjs')).arrayBuffer()
    expect(Buffer.compare(Buffer.from(after), Buffer.from(before))).toBe(0)
  })

  it('PATCH adds at the end (default) or the start', async () => {
    const name = fresh()
    await create(name, '<p>middle</p>', 'html')
    expect((await send('PATCH', name, 'end', 'text/plain')).status).toBe(200)
    expect((await send('PATCH', name, '# start', 'text/markdown', '?position=start')).status).toBe(200)
    expect((await send('PATCH', name, '<p>last</p>', 'text/html', '?position=end')).status).toBe(200)
    expect(await read(name, 'html')).toBe('<h1>start</h1><p>middle</p><p>end</p><p>last</p>')
    expect((await send('PATCH', name, 'x', 'text/plain', '?position=middle')).status).toBe(400)
  })

  it('bad writes get a 4xx with a one-line reason and change nothing', async () => {
    const name = fresh()
    await create(name, '<p>untouched</p>', 'html')
    const before = await read(name, 'json')
    const cases: Array<[Response, number, string]> = [
      [await send('PUT', name, 'x', 'image/png'), 415, 'Content-Type image/png is not accepted'],
      [await fetch(url(name), { method: 'PUT', headers: KEY, body: new Uint8Array([1]) }), 415, 'no Content-Type'],
      [await send('PUT', name, 'x', 'text/plain', '?format=rtf'), 400, 'unknown format "rtf"'],
      [await send('PUT', name, new Uint8Array([0xc3, 0x28, 0x3c, 0x70, 0x3e]), 'text/html'), 400, 'body is not valid UTF-8 text'],
      [await send('PUT', name, '# a\u0000b', 'text/markdown'), 400, 'body contains NUL characters'],
      [await send('PUT', name, '{"type":"doc","content":[{"type":"paragraph","content":[{"type":"heading"}]}]}', 'application/json'), 400, "content does not fit the editor's schema"],
      [await send('PUT', name, '[1]', 'application/json'), 400, 'JSON content must be a ProseMirror document'],
      [await send('PUT', name, new Uint8Array([0, 1, 2, 3]), 'application/octet-stream'), 400, 'body is not a valid Yjs update'],
      [await send('PUT', name, 'x'.repeat(MAX_BODY + 1), 'text/plain'), 413, `body over ${MAX_BODY} bytes`],
      [await send('PUT', fresh('never'), 'x', 'text/plain'), 404, 'no such document'],
      [await fetch(url(name), { method: 'POST', headers: KEY }), 405, 'method not allowed'],
    ]
    for (const [res, status, reason] of cases) {
      const { error } = await res.json() as { error: string }
      expect([res.status, error.slice(0, reason.length)]).toEqual([status, reason])
      expect(error).not.toContain('\n')
    }
    expect(await read(name, 'json')).toBe(before)
    expect(await refusals('api_body_bytes')).toBeGreaterThanOrEqual(1)
  })

  it('a Yjs update that depends on changes it lacks is refused (it is not a document)', async () => {
    const name = fresh()
    await create(name, 'x', 'text')
    const doc = new Y.Doc()
    const updates: Uint8Array[] = []
    doc.on('update', (u: Uint8Array) => updates.push(u))
    doc.getXmlFragment('default').insert(0, [new Y.XmlElement('paragraph')])
    ;(doc.getXmlFragment('default').get(0) as Y.XmlElement).insert(0, [new Y.XmlText('later')])
    const res = await send('PUT', name, updates[1], 'application/octet-stream')
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: string }).error).toContain('depends on changes it does not contain')
  })
})

describe('deleting', () => {
  it('DELETE removes the document and closes its live clients with 4404; it can be created anew', async () => {
    const name = fresh()
    await create(name, 'doomed', 'text')
    const token = await mintToken({ sub: 'live', allowedDocumentNames: ['content/*'] })
    const client = connectClient(quire.wsUrl, name, { token })
    await whenSynced(client, 'an editor to sync')
    const closed = whenClosed(client, 'the editor to be closed by the deletion')
    const res = await fetch(url(name), { method: 'DELETE', headers: KEY })
    expect(res.status).toBe(204)
    expect(await closed).toEqual({ code: CLOSE.gone, reason: CLOSE_REASONS[CLOSE.gone] })
    client.destroy()
    expect((await get(name)).status).toBe(404)
    expect((await fetch(url(name), { method: 'DELETE', headers: KEY })).status).toBe(404)
    const list = await (await fetch(`${quire.url}/api/documents?prefix=${encodeURIComponent(name)}`, { headers: KEY })).json() as { documents: unknown[] }
    expect(list.documents).toEqual([])
    expect((await create(name, 'reborn', 'text')).status).toBe(201)
    expect(await read(name, 'text')).toBe('reborn')
  })
})

describe('listing', () => {
  it('pages through a prefix with a cursor; each entry has its size, last change and who is editing', async () => {
    const prefix = `${fresh('list')}/`
    const names = ['c', 'a', 'b', 'd/e'].map((n) => prefix + n)
    for (const n of names) expect((await create(n, `text of ${n}`, 'text')).status).toBe(201)
    const token = await mintToken({ sub: 'u-ada', name: 'Ada', allowedDocumentNames: ['content/*'] })
    const client = connectClient(quire.wsUrl, prefix + 'b', { token })
    await whenSynced(client, 'an editor on b to sync')

    interface Entry { name: string, bytes: number, updatedAt: string, editing: { connections: number, users: Array<{ id: string, name?: string }> } }
    const seen: Entry[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = `?prefix=${encodeURIComponent(prefix)}&limit=3${cursor === null ? '' : `&cursor=${cursor}`}`
      const res = await fetch(`${quire.url}/api/documents${query}`, { headers: KEY })
      expect(res.status).toBe(200)
      const page = await res.json() as { documents: Entry[], cursor: string | null }
      seen.push(...page.documents)
      cursor = page.cursor
      pages++
    } while (cursor !== null && pages < 5)
    expect(pages).toBe(2)
    expect(seen.map((e) => e.name)).toEqual([...names].sort())
    for (const e of seen) {
      expect(e.bytes).toBeGreaterThan(0)
      expect(Date.now() - Date.parse(e.updatedAt)).toBeLessThan(60_000)
    }
    expect(seen.find((e) => e.name === prefix + 'b')!.editing).toEqual({ connections: 1, users: [{ id: 'u-ada', name: 'Ada' }] })
    expect(seen.find((e) => e.name === prefix + 'a')!.editing).toEqual({ connections: 0, users: [] })
    client.destroy()
  })

  it('limit over API_LIST_MAX is refused and counted; a bad limit is refused', async () => {
    const before = await refusals('api_list_page')
    const res = await fetch(`${quire.url}/api/documents?limit=${LIST_MAX + 1}`, { headers: KEY })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: `limit over ${LIST_MAX} (API_LIST_MAX)` })
    expect(await refusals('api_list_page')).toBe(before + 1)
    expect((await fetch(`${quire.url}/api/documents?limit=zero`, { headers: KEY })).status).toBe(400)
    expect((await fetch(`${quire.url}/api/documents`, { method: 'DELETE', headers: KEY })).status).toBe(405)
  })
})

describe('access', () => {
  it('no credentials or a wrong key: 401; a token is checked per document; read-only tokens read but do not write', async () => {
    const name = fresh('acl')
    await create(name, 'secret', 'text')
    const none = await get(name)
    expect(none.status).toBe(200)
    const anonymous = await fetch(url(name))
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer')
    expect((await get(name, '', { authorization: 'Bearer wrong-key-wrong-key-wrong' })).status).toBe(401)

    const writer = { authorization: `Bearer ${await mintToken({ sub: 'w', allowedDocumentNames: ['content/acl-*'] })}` }
    const reader = { authorization: `Bearer ${await mintToken({ sub: 'r', readonlyDocumentNames: ['content/acl-*'] })}` }
    const stranger = { authorization: `Bearer ${await mintToken({ sub: 's', allowedDocumentNames: ['elsewhere/*'] })}` }
    expect((await send('PUT', name, 'by writer', 'text/plain', '', writer)).status).toBe(200)
    expect(await (await get(name, '?format=text', reader)).text()).toBe('by writer')
    const readOnly = await send('PUT', name, 'by reader', 'text/plain', '', reader)
    expect(readOnly.status).toBe(403)
    expect(await readOnly.json()).toEqual({ error: 'token grants reading only' })
    expect((await fetch(url(name), { method: 'DELETE', headers: reader })).status).toBe(403)
    expect((await create(fresh('acl'), 'x', 'text', reader)).status).toBe(403)
    expect((await get(name, '', stranger)).status).toBe(403)
    expect(await read(name, 'text')).toBe('by writer')
    const created = fresh('acl')
    expect((await create(created, 'by token', 'text', writer)).status).toBe(201)

    // A listing shows what the token covers, nothing else.
    const listed = await (await fetch(`${quire.url}/api/documents?prefix=content/`, { headers: reader })).json() as { documents: Array<{ name: string }> }
    expect(listed.documents.length).toBeGreaterThan(0)
    expect(listed.documents.every((d) => d.name.startsWith('content/acl-'))).toBe(true)
    expect((await fetch(`${quire.url}/api/documents`, { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401)
  })
})

describe('parsing deadline', () => {
  let slow: QuireProcess
  // A second is ample for a small body even on a loaded machine, and far from enough for the huge one (about 16 s on 2 cores).
  beforeAll(async () => { slow = await startQuire({ CONTENT_PARSE_TIMEOUT_MS: '1000' }) })
  afterAll(async () => { await slow.kill() })

  it('content that takes longer than CONTENT_PARSE_TIMEOUT_MS to parse is refused (413, counted), and parsing goes on', async () => {
    const name = 'content/deadline'
    const post = (content: string, format: string): Promise<Response> => fetch(`${slow.url}/api/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, content, format }) })
    // Two megabytes of markup: many seconds of parsing.
    const huge = '<p>word <strong>bold</strong> <em>it</em></p>'.repeat(50_000)
    const refused = await post(huge, 'html')
    expect(refused.status).toBe(413)
    expect(await refused.json()).toEqual({ error: 'content took longer than 1000 ms to parse (CONTENT_PARSE_TIMEOUT_MS)' })
    expect((await fetch(`${slow.url}/api/documents/${encodeURIComponent(name)}`)).status).toBe(404)
    const metrics = await (await fetch(`${slow.url}/metrics`)).text()
    expect(metrics).toContain('quire_limit_refusals_total{limit="content_parse_time"} 1')
    // The parser was replaced: small content parses again.
    expect((await post('<p>small</p>', 'html')).status).toBe(201)
    expect(await (await fetch(`${slow.url}/api/documents/${encodeURIComponent(name)}?format=html`)).text()).toBe('<p>small</p>')
  })
})
