// @vitest-environment happy-dom
// @vitest-environment-options { "settings": { "fetch": { "disableSameOriginPolicy": true } } }
/**
 * @quire/react's hooks (client/react, docs/embedding-react.md) rendered by
 * React DOM under StrictMode against a real Quire process: components that
 * ask for the same document share one provider and one connection through
 * StrictMode's mount → unmount → mount, the status, saved and presence hooks
 * follow the provider, and the last unmount closes it (a spy counts
 * destroy() calls: without the cache's pause StrictMode would destroy the
 * first provider before it opened a socket, which the server cannot see). The Node WebSocket
 * stands in for the browser's (happy-dom has none that reaches a server).
 */
import { createElement, StrictMode, useEffect } from 'react'
import { createRoot } from 'react-dom/client'
import * as Y from 'yjs'
import WS from 'ws'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { QuireProvider } from '@quire/provider'
import { useConnectionStatus, usePresence, useQuireDocument, useSaved, type Presence } from '../../client/react/src/index.js'
import { DocumentCache, documentKey, documents } from '../../client/react/src/document-cache.js'
import { startQuire, type QuireProcess } from '../../harness/quire.js'
import { connectClient, whenSynced, type TestClient } from '../helpers/clients.js'
import { readMetrics } from '../helpers/metrics.js'
import { waitFor, waitUntil } from '../helpers/wait.js'

let quire: QuireProcess
const cleanup: Array<() => void> = []

beforeAll(async () => { quire = await startQuire() })
afterAll(async () => {
  for (const fn of cleanup) fn()
  await quire?.kill()
})

/** What a probe component saw at its last commit. */
interface Seen {
  ydoc: Y.Doc | null
  provider: QuireProvider | null
  status: string
  saved: boolean[]
  people: readonly Presence[]
}

/** Components report each commit here; tests wait on it. */
const commits = new EventTarget()
const onCommit = (on: () => void): () => void => {
  commits.addEventListener('commit', on)
  return () => commits.removeEventListener('commit', on)
}

function Probe ({ doc, seen }: { doc: string, seen: Seen }) {
  const { ydoc, provider } = useQuireDocument({ server: quire.wsUrl, doc, offline: false, crossTab: false, WebSocket: WS as unknown as typeof WebSocket })
  const status = useConnectionStatus(provider)
  const saved = useSaved(provider)
  const people = usePresence(provider)
  useEffect(() => {
    Object.assign(seen, { ydoc, provider, status, people })
    if (seen.saved.at(-1) !== saved) seen.saved.push(saved)
    commits.dispatchEvent(new Event('commit'))
  })
  return null
}

const newSeen = (): Seen => ({ ydoc: null, provider: null, status: '', saved: [], people: [] })

async function metric (name: string): Promise<number> {
  return (await readMetrics(quire.url)).get(name) ?? NaN
}

function stock (doc: string): TestClient {
  const c = connectClient(quire.wsUrl, doc)
  cleanup.push(() => c.destroy())
  return c
}

describe('DocumentCache', () => {
  const open = (doc: string) => {
    const ydoc = new Y.Doc()
    return { ydoc, provider: new QuireProvider({ server: 'ws://127.0.0.1:9', doc, ydoc, connect: false, crossTab: false }) }
  }

  it('holders share one document; it closes a task after the last lets go, unless taken back', async () => {
    const cache = new DocumentCache()
    const key = documentKey({ server: 'ws://127.0.0.1:9', doc: 'a' })
    let made = 0
    const create = () => { made++; return open('a') }
    const first = cache.acquire(key, create)
    const second = cache.acquire(key, create)
    expect(second.document).toBe(first.document)
    expect(cache.peek(key)).toBe(first.document)
    first.release()
    second.release()
    second.release() // twice is once
    expect(cache.peek(key)).toBeNull() // closing: not handed out without being held
    // StrictMode's remount happens before the next task: the same document comes back.
    const again = cache.acquire(key, create)
    expect(again.document).toBe(first.document)
    again.release()
    expect(cache.size).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(cache.size).toBe(0)
    expect(first.document.ydoc.isDestroyed).toBe(true)
    expect(made).toBe(1)
    expect(cache.acquire(key, create).document).not.toBe(first.document)
    expect(made).toBe(2)
  })

  it('another token is another document', () => {
    const server = 'ws://127.0.0.1:9'
    expect(documentKey({ server, doc: 'a', token: 'x' })).not.toBe(documentKey({ server, doc: 'a', token: 'y' }))
    expect(documentKey({ server, doc: 'a' })).toBe(documentKey({ server, doc: 'a', token: null }))
  })
})

describe('hooks under StrictMode', () => {
  it('two components, one provider and one connection; status, saved and presence follow it; unmounting closes it', async () => {
    const doc = 'react/hooks'
    const acceptedBefore = await metric('quire_connections_accepted_total')
    const [a, b] = [newSeen(), newSeen()]
    // Observed, not replaced: StrictMode's unmount must not destroy the provider it mounts again.
    const destroyed = vi.spyOn(QuireProvider.prototype, 'destroy')
    cleanup.push(() => destroyed.mockRestore())
    const root = createRoot(document.createElement('div'))
    cleanup.push(() => root.unmount())
    root.render(createElement(StrictMode, null, createElement(Probe, { doc, seen: a }), createElement(Probe, { doc, seen: b })))

    await waitUntil(onCommit, () => a.status === 'connected' && b.status === 'connected', 'both probes to see the provider connected')
    expect(a.provider).not.toBeNull()
    expect(b.provider).toBe(a.provider)
    expect(b.ydoc).toBe(a.ydoc)
    expect(a.ydoc).toBe(a.provider?.ydoc)
    expect(documents.size).toBe(1)
    expect(destroyed).not.toHaveBeenCalled()
    await waitUntil((on) => { a.provider?.on('synced', on); return () => a.provider?.off('synced', on) }, () => a.provider?.synced === true, 'the provider to sync')
    // StrictMode mounted each probe twice: the server saw one connection, not two or four.
    expect(await metric('quire_connections')).toBe(1)
    expect(await metric('quire_connections_accepted_total') - acceptedBefore).toBe(1)

    // An edit here: not saved, then saved once the server acknowledged it; a stock client gets it.
    const bob = stock(doc)
    await whenSynced(bob, 'the stock client to sync')
    a.ydoc?.getText('t').insert(0, 'from React')
    await waitUntil(onCommit, () => a.saved.at(-1) === true && a.saved.includes(false), 'saved to go false, then true')
    await waitFor(() => bob.text.toString(), (t) => t === 'from React', 'the stock client to get the edit')

    // Presence: the stock client's state shows up in both probes, ours as self.
    a.provider?.awareness.setLocalStateField('user', { name: 'Ada' })
    bob.provider.awareness.setLocalStateField('user', { name: 'Bob', color: '#1971c2' })
    await waitUntil(onCommit, () => b.people.some((p) => !p.self && p.user?.name === 'Bob'), 'Bob in the presence list')
    expect(b.people.find((p) => p.self)?.user?.name).toBe('Ada')
    expect(a.people).toBe(b.people)

    // The last holder unmounts: the provider is destroyed and its connection closes.
    root.unmount()
    await waitFor(() => documents.size, (n) => n === 0, 'the shared document to be closed')
    expect(destroyed).toHaveBeenCalledTimes(1)
    await waitFor(() => metric('quire_connections'), (n) => n === 1, 'only the stock client left connected')
  })
})
