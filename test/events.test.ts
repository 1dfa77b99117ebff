/**
 * The live event stream and presence on one instance with the embedded
 * store (docs/events.md): real Quire processes, stock y-websocket clients,
 * the stream read with Node's fetch. Presence here answers from memory.
 */
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { connectClient, whenSynced, type TestClient } from './helpers/clients.js'
import { openStream, type SseStream } from './helpers/sse.js'
import { readMetrics } from './helpers/metrics.js'
import { mintToken, TEST_SECRET } from './helpers/tokens.js'
import { waitFor } from './helpers/wait.js'

const running: QuireProcess[] = []
const opened: Array<SseStream | TestClient> = []
let open: QuireProcess

beforeAll(async () => {
  open = await startQuire({ EVENTS_HEARTBEAT_MS: '150', EVENTS_ACTIVITY_MS: '100', EVENTS_BUFFER: '40', EVENTS_MAX_STREAMS_PER_IP: '50' })
  running.push(open)
})
afterAll(async () => {
  for (const o of opened) {
    if ('close' in o) o.close()
    else o.destroy()
  }
  await Promise.all(running.map((q) => q.kill()))
})

const stream = async (q: QuireProcess, query: string, headers: Record<string, string> = {}): Promise<SseStream> => {
  const s = await openStream(`${q.url}/api/events?${query}`, { headers })
  opened.push(s)
  return s
}

/** A stock client in `doc` whose awareness names `user` (as the web editor's does). */
async function join (q: QuireProcess, doc: string, user: { id: string, name: string, color?: string }, token?: string): Promise<TestClient> {
  const client = connectClient(q.wsUrl, doc, { token })
  opened.push(client)
  client.provider.awareness.setLocalStateField('user', user)
  await whenSynced(client, `${user.name} to sync ${doc}`)
  return client
}

describe('the stream (embedded store)', () => {
  it('answers text/event-stream with a retry hint and a reset snapshot, then join, typing, change and leave', async () => {
    const s = await stream(open, 'docs=e/one,e/two')
    expect(s.status).toBe(200)
    expect(s.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reset = await s.next((e) => e.event === 'reset', 'the opening reset')
    expect(s.retry).toBeGreaterThan(0)
    expect(reset.id).toMatch(/^[0-9a-f]+-\d+$/)
    expect(reset.json.docs).toEqual([{ doc: 'e/one', users: [], lastChange: null }, { doc: 'e/two', users: [], lastChange: null }])

    const ann = await join(open, 'e/one', { id: 'ann', name: 'Ann', color: '#d9480f' })
    const joined = await s.next((e) => e.event === 'join', 'Ann joining e/one')
    expect(joined.json).toMatchObject({ doc: 'e/one', user: { id: 'ann', name: 'Ann', color: '#d9480f', typing: false } })
    expect(Number(joined.id!.split('-')[1])).toBeGreaterThan(Number(reset.id!.split('-')[1]))

    ann.provider.awareness.setLocalStateField('typing', true)
    const typing = await s.next((e) => e.event === 'typing', 'Ann starting to type')
    expect(typing.json).toMatchObject({ doc: 'e/one', user: { id: 'ann' }, typing: true })

    ann.text.insert(0, 'hello')
    const change = await s.next((e) => e.event === 'change', 'the change Ann made')
    expect(change.json).toMatchObject({ doc: 'e/one', by: [{ id: 'ann', name: 'Ann' }] })
    expect(change.json.at).toBeGreaterThan(Date.now() - 60_000)

    ann.provider.awareness.setLocalStateField('typing', false)
    await s.next((e) => e.event === 'typing' && e.json.typing === false, 'Ann stopping typing')
    ann.destroy()
    const left = await s.next((e) => e.event === 'leave', 'Ann leaving e/one')
    expect(left.json).toMatchObject({ doc: 'e/one', user: { id: 'ann', name: 'Ann' } })
    // Nothing about documents the stream did not ask for.
    const other = await join(open, 'e/elsewhere', { id: 'bob', name: 'Bob' })
    other.text.insert(0, 'x')
    const mark = await join(open, 'e/two', { id: 'cy', name: 'Cy' })
    await s.next((e) => e.event === 'join' && e.json.doc === 'e/two', 'Cy joining e/two (after Bob elsewhere)')
    expect(s.events.filter((e) => e.json?.doc === 'e/elsewhere')).toEqual([])
    // Ids grow by one per event the stream saw... or more, when events it did not want came between.
    const seqs = s.events.map((e) => Number(e.id!.split('-')[1]))
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs)
    mark.destroy()
    other.destroy()
  })

  it('one person in two tabs counts once; they leave when the last tab goes', async () => {
    const s = await stream(open, 'docs=e/tabs')
    await s.next((e) => e.event === 'reset', 'the opening reset')
    const tab1 = await join(open, 'e/tabs', { id: 'dee', name: 'Dee' })
    await s.next((e) => e.event === 'join', 'Dee joining')
    const tab2 = await join(open, 'e/tabs', { id: 'dee', name: 'Dee' })
    const people = await fetch(`${open.url}/api/documents/e%2Ftabs/presence`)
    expect(await people.json()).toMatchObject([{ id: 'dee', name: 'Dee', typing: false }])
    tab1.destroy()
    // The second tab keeps Dee present: wait for the presence to show one tab gone, then check no leave came.
    await waitFor(async () => (await fetch(`${open.url}/api/documents/e/tabs/presence`)).json() as Promise<unknown[]>, (l) => l.length === 1, 'Dee still present with one tab')
    tab2.destroy()
    await s.next((e) => e.event === 'leave', 'Dee leaving with the last tab')
    expect(s.events.filter((e) => e.event === 'join')).toHaveLength(1)
    expect(s.events.filter((e) => e.event === 'leave')).toHaveLength(1)
  })

  it('a prefix stream sees every document under it, and its reset lists who is there now', async () => {
    const eve = await join(open, 'team/alpha', { id: 'eve', name: 'Eve' })
    await waitFor(async () => (await fetch(`${open.url}/api/documents/team/alpha/presence`)).json() as Promise<unknown[]>, (l) => l.length === 1, 'Eve present in team/alpha')
    const s = await stream(open, 'prefix=team/')
    const reset = await s.next((e) => e.event === 'reset', 'the opening reset')
    expect(reset.json.docs).toEqual([{ doc: 'team/alpha', users: [expect.objectContaining({ id: 'eve', name: 'Eve' })], lastChange: null }])
    await join(open, 'team/beta', { id: 'fay', name: 'Fay' })
    await join(open, 'other/gamma', { id: 'gus', name: 'Gus' })
    await s.next((e) => e.event === 'join' && e.json.doc === 'team/beta', 'Fay joining team/beta')
    eve.destroy()
    await s.next((e) => e.event === 'leave' && e.json.doc === 'team/alpha', 'Eve leaving team/alpha')
    expect(s.events.some((e) => e.json?.doc === 'other/gamma')).toBe(false)
  })

  it('sends a heartbeat comment every EVENTS_HEARTBEAT_MS', async () => {
    const s = await stream(open, 'docs=e/quiet')
    await s.whenComments(3, 'three heartbeats at 150 ms')
    expect(s.comments.slice(0, 3).map((c) => c.text)).toEqual(['ping', 'ping', 'ping'])
    const gaps = s.comments.slice(1, 3).map((c, i) => c.at - s.comments[i].at)
    // Well under the 15 s promise; generous against a loaded machine.
    for (const gap of gaps) expect(gap).toBeLessThan(5_000)
  })

  it('a reconnect with Last-Event-ID gets exactly what it missed; an unknown or expired id gets a reset', async () => {
    const s = await stream(open, 'docs=e/replay')
    await s.next((e) => e.event === 'reset', 'the opening reset')
    const hal = await join(open, 'e/replay', { id: 'hal', name: 'Hal' })
    const seen = await s.next((e) => e.event === 'join', 'Hal joining')
    s.close()
    // Missed while away: Ian joins, Hal edits and leaves.
    const ian = await join(open, 'e/replay', { id: 'ian', name: 'Ian' })
    // (A stream sees what happens after it opens: the watcher first, then the edit.)
    const watcher = await stream(open, 'docs=e/replay')
    await watcher.next((e) => e.event === 'reset', 'the watcher\'s opening reset')
    hal.text.insert(0, 'while you were away')
    await watcher.next((e) => e.event === 'change', 'the change to be made')
    hal.destroy()
    await watcher.next((e) => e.event === 'leave', 'Hal leaving')

    const back = await stream(open, 'docs=e/replay', { 'last-event-id': seen.id! })
    const missed = await back.next((e) => e.event === 'leave', 'the replay to reach Hal leaving')
    expect(back.events.map((e) => e.event)).toEqual(['join', 'change', 'leave'])
    expect(back.events[0].json.user.id).toBe('ian')
    expect(missed.id).toBe(watcher.events.at(-1)!.id)

    const stranger = await stream(open, 'docs=e/replay', { 'last-event-id': 'ffffffff-3' })
    const reset = await stranger.next((e) => e.event === 'reset', 'a reset for an id of another instance')
    expect(reset.json.docs[0].users.map((u: { id: string }) => u.id)).toEqual(['ian'])
    expect(reset.json.docs[0].lastChange).toMatchObject({ by: [{ id: 'hal', name: 'Hal' }] })

    // EVENTS_BUFFER is 40: push the id out of the buffer with more events than that.
    const churning = await stream(open, 'docs=e/churn')
    const churn = await join(open, 'e/churn', { id: 'jo', name: 'Jo' })
    await churning.next((e) => e.event === 'join', 'Jo joining e/churn')
    for (let i = 1; i <= 45; i++) {
      churn.provider.awareness.setLocalStateField('typing', i % 2 === 1)
      await churning.next((e) => e.event === 'typing', `typing toggle ${i}`, { from: churning.events.length })
    }
    churning.close()
    const late = await stream(open, 'docs=e/replay', { 'last-event-id': seen.id! })
    await late.next((e) => e.event === 'reset', 'a reset for an id no longer kept')
    expect(late.events[0].event).toBe('reset')
    ian.destroy()
    churn.destroy()
  })
})

describe('GET /api/documents/<name>/presence (embedded: from memory)', () => {
  it('lists who is in a document, with colour, typing and since', async () => {
    const before = Date.now()
    const kim = await join(open, 'p/room', { id: 'kim', name: 'Kim', color: '#1971c2' })
    const list = await waitFor(async () => (await fetch(`${open.url}/api/documents/p%2Froom/presence`)).json() as Promise<Array<Record<string, unknown>>>, (l) => l.length === 1, 'Kim in the presence list')
    expect(list[0]).toMatchObject({ id: 'kim', name: 'Kim', color: '#1971c2', typing: false })
    expect(list[0].since).toBeGreaterThanOrEqual(before - 1000)
    kim.destroy()
    await waitFor(async () => (await fetch(`${open.url}/api/documents/p%2Froom/presence`)).json() as Promise<unknown[]>, (l) => l.length === 0, 'an empty list once Kim left')
  })

  it('404 for an invalid name, 405 for another method', async () => {
    expect((await fetch(`${open.url}/api/documents/a%2F%2Fb/presence`)).status).toBe(404)
    const post = await fetch(`${open.url}/api/documents/ok/presence`, { method: 'POST' })
    expect(post.status).toBe(405)
  })
})

describe('bad input', () => {
  it.each([
    ['', /docs=/],
    ['docs=a&colour=red', /unknown parameter "colour"/],
    ['docs=a&docs=b', /given twice/],
    ['docs=a,,b', /invalid document name/],
    ['docs=a%2F..%2Fb', /invalid document name/],
    ['docs=%E0%A4%A', /invalid document name/],
    [`docs=${Array.from({ length: 101 }, (_, i) => `d${i}`).join(',')}`, /too many documents/],
  ])('GET /api/events?%s is a 400 with a one-line reason', async (query, reason) => {
    const res = await fetch(`${open.url}/api/events?${query}`)
    expect(res.status).toBe(400)
    const body = await res.json() as { error: string }
    expect(body.error).toMatch(reason)
    expect(body.error).not.toContain('\n')
  })

  it('a name holding a comma is given as %2C', async () => {
    const s = await stream(open, 'docs=with%2Ccomma,plain')
    const reset = await s.next((e) => e.event === 'reset', 'the opening reset')
    expect(reset.json.docs.map((d: { doc: string }) => d.doc)).toEqual(['with,comma', 'plain'])
  })
})

describe('with tokens', () => {
  const API_KEY = 'api-key-for-the-event-tests-0123'
  let authed: QuireProcess
  beforeAll(async () => {
    authed = await startQuire({ AUTH_SECRET: TEST_SECRET, API_KEY, AUTH_CLOCK_SKEW_SECONDS: '0', EVENTS_MAX_STREAMS_PER_IP: '3', EVENTS_ACTIVITY_MS: '50' })
    running.push(authed)
  })

  it('no token: 401; a token that does not cover a named document: 403; a prefix it covers nothing under: 403', async () => {
    expect((await fetch(`${authed.url}/api/events?docs=t/a`)).status).toBe(401)
    const token = await mintToken({ sub: 'u1', allowedDocumentNames: ['t/a'] })
    const some = await fetch(`${authed.url}/api/events?docs=t/a,t/b&token=${token}`)
    expect(some.status).toBe(403)
    expect((await some.json() as { error: string }).error).toMatch(/t\/b/)
    expect((await fetch(`${authed.url}/api/events?prefix=x/&token=${token}`)).status).toBe(403)
    expect((await fetch(`${authed.url}/api/events?docs=t/a&token=garbage`)).status).toBe(401)
    expect((await fetch(`${authed.url}/api/documents/t%2Fb/presence?token=${token}`)).status).toBe(403)
  })

  it('a prefix stream delivers only the documents the token may read; the server writes the token\'s name into presence', async () => {
    const reader = await mintToken({ sub: 'viewer', allowedDocumentNames: ['t/open*'], readonlyDocumentNames: ['t/shared'] })
    const s = await stream(authed, `prefix=t/&token=${reader}`)
    await s.next((e) => e.event === 'reset', 'the opening reset')
    const writer = await mintToken({ sub: 'w', name: 'Writer', allowedDocumentNames: ['t/*'] })
    // The client claims to be someone else: the stream shows the token's identity.
    const secret = await join(authed, 't/secret', { id: 'w', name: 'Writer' }, writer)
    const shared = await join(authed, 't/shared', { id: 'forged', name: 'Forged' }, writer)
    const joined = await s.next((e) => e.event === 'join', 'the writer joining t/shared')
    expect(joined.json).toMatchObject({ doc: 't/shared', user: { id: 'w', name: 'Writer' } })
    shared.text.insert(0, 'x')
    secret.text.insert(0, 'x')
    await s.next((e) => e.event === 'change' && e.json.doc === 't/shared', 'the change to t/shared')
    expect(s.events.some((e) => e.json?.doc === 't/secret')).toBe(false)
    // The bearer header works like the query parameter; the API key sees everything.
    const viaHeader = await stream(authed, 'docs=t/shared', { authorization: `Bearer ${reader}` })
    const reset = await viaHeader.next((e) => e.event === 'reset', 'the reset of a stream authorised by header')
    expect(reset.json.docs[0].users).toEqual([expect.objectContaining({ id: 'w', name: 'Writer' })])
    const server = await fetch(`${authed.url}/api/documents/t%2Fsecret/presence`, { headers: { authorization: `Bearer ${API_KEY}` } })
    expect(await server.json()).toEqual([expect.objectContaining({ id: 'w' })])
    secret.destroy()
    shared.destroy()
    s.close()
    viaHeader.close()
  })

  it('the stream ends when its token expires', async () => {
    const token = await mintToken({ sub: 'brief', allowedDocumentNames: ['t/x'] }, { expiresAt: Math.floor(Date.now() / 1000) + 2 })
    const s = await openStream(`${authed.url}/api/events?docs=t/x&token=${token}`)
    expect(s.status).toBe(200)
    await s.next((e) => e.event === 'reset', 'the opening reset')
    await s.whenEnded('the stream to end at the token\'s expiry (2 s)', 8_000)
    expect((await fetch(`${authed.url}/api/events?docs=t/x&token=${token}`)).status).toBe(401)
  })

  it('past EVENTS_MAX_STREAMS_PER_IP a stream is refused with 429 and counted', async () => {
    await waitFor(async () => (await readMetrics(authed.url)).get('quire_event_streams'), (n) => n === 0, 'the earlier tests\' streams to be let go')
    const token = await mintToken({ sub: 'many', allowedDocumentNames: ['*'] })
    const held: SseStream[] = []
    for (let i = 0; i < 3; i++) held.push(await stream(authed, `docs=t/budget&token=${token}`))
    for (const h of held) await h.next((e) => e.event === 'reset', 'a held stream opening')
    const refused = await fetch(`${authed.url}/api/events?docs=t/budget&token=${token}`)
    expect(refused.status).toBe(429)
    expect((await refused.json() as { error: string }).error).toMatch(/too many event streams/)
    const m = await readMetrics(authed.url)
    expect(m.get('quire_limit_refusals_total{limit="event_streams_per_ip"}')).toBe(1)
    expect(m.get('quire_event_streams')).toBe(3)
    // A stream that closes frees its place.
    held[0].close()
    await waitFor(async () => (await readMetrics(authed.url)).get('quire_event_streams'), (n) => n === 2, 'the closed stream to be let go')
    const again = await stream(authed, `docs=t/budget&token=${token}`)
    expect(again.status).toBe(200)
  })
})

describe('a client that does not read', () => {
  it('has its stream closed once its backlog passes EVENTS_MAX_BACKLOG_BYTES, and nobody else is harmed', async () => {
    const q = await startQuire({ EVENTS_MAX_BACKLOG_BYTES: '65536', EVENTS_HEARTBEAT_MS: '200', EVENTS_ACTIVITY_MS: '0', DATA_FSYNC: 'everysec', EVENTS_MAX_STREAMS_PER_IP: '10' })
    running.push(q)
    // A raw socket that asks for every change under a prefix, then never reads.
    const slow = connect(q.port, '127.0.0.1')
    slow.pause()
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()))
    slow.write(`GET /api/events?prefix=flood/ HTTP/1.1\r\nHost: 127.0.0.1:${q.port}\r\n\r\n`)
    const reader = await stream(q, 'prefix=flood/')
    await reader.next((e) => e.event === 'reset', 'the reading stream\'s reset')
    await waitFor(async () => (await readMetrics(q.url)).get('quire_event_streams'), (n) => n === 2, 'both streams open')
    // Busy events: 40 people with long names editing one document, so each change event names
    // them all (about 10 KB). Rounds of edits until the slow stream is cut: bounded.
    const writers = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      join(q, 'flood/doc', { id: `writer-${i}-${'i'.repeat(110)}`, name: `Writer ${i} ${'n'.repeat(110)}` })))
    const refusals = async (): Promise<number> => (await readMetrics(q.url)).get('quire_limit_refusals_total{limit="event_stream_backlog"}') ?? 0
    let rounds = 0
    const started = Date.now()
    while (rounds % 10 !== 0 || await refusals() === 0) {
      expect(Date.now() - started, 'the slow stream to be closed within 60 s of edits').toBeLessThan(60_000)
      const from = reader.events.length
      for (const w of writers) w.text.insert(0, 'x')
      await reader.next((e) => e.event === 'change', `the change event of round ${rounds}`, { from })
      rounds++
    }
    await waitFor(async () => (await readMetrics(q.url)).get('quire_event_streams'), (n) => n === 1, 'only the reading stream left')
    // The reader got every change, and still gets new ones.
    const from = reader.events.length
    writers[0].text.insert(0, 'still here')
    await reader.next((e) => e.event === 'change', 'a change on the reading stream after the slow one was cut', { from })
    expect(reader.ended).toBe(false)
    const bytes = reader.events.reduce((n, e) => n + e.data.length, 0)
    console.log(`slow event stream closed after ${rounds} rounds of edits (${(bytes / 1e6).toFixed(1)} MB of events reached the reading stream)`)
    for (const w of writers) w.destroy()
    slow.destroy()
  })
})

