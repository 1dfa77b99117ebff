/** The version history API (docs/history.md) as tests call it on a real Quire process. */
import { expect } from 'vitest'
import * as Y from 'yjs'
import type { QuireProcess } from '../../harness/quire.js'
import { connectClient, whenSynced, type TestClient } from './clients.js'
import { mintToken } from './tokens.js'
import type { VersionInfo } from '../../server/backend/store.js'
import { paragraphsOf, setParagraphs } from './paragraphs.js'
import { waitFor } from './wait.js'

export const HISTORY_API_KEY = 'api-key-for-the-history-tests-0123'
export const apiKey: Record<string, string> = { authorization: `Bearer ${HISTORY_API_KEY}` }
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

/** `/api/documents/<name>/versions<rest>` on `q`. */
export const versionsUrl = (q: QuireProcess, name: string, rest = ''): string => `${q.url}/api/documents/${encodeURIComponent(name)}/versions${rest}`

export async function listVersions (q: QuireProcess, name: string, headers = apiKey): Promise<VersionInfo[]> {
  const res = await fetch(versionsUrl(q, name), { headers })
  expect(res.status).toBe(200)
  return ((await res.json()) as { versions: VersionInfo[] }).versions
}

/** POST a version on demand; expects 201. */
export async function takeVersion (q: QuireProcess, name: string, label?: string, headers = apiKey): Promise<VersionInfo> {
  const res = await fetch(versionsUrl(q, name), { method: 'POST', headers, body: JSON.stringify(label === undefined ? {} : { label }) })
  expect(res.status).toBe(201)
  return ((await res.json()) as { version: VersionInfo }).version
}

export async function versionText (q: QuireProcess, name: string, id: string): Promise<string> {
  const res = await fetch(versionsUrl(q, name, `/${id}?format=text`), { headers: apiKey })
  expect(res.status).toBe(200)
  return res.text()
}

/** Resolves once the server's document holds these paragraphs (durable: the state route answers once it is). */
export async function whenStored (q: QuireProcess, name: string, texts: string[]): Promise<void> {
  await waitFor(async () => {
    const doc = new Y.Doc()
    Y.applyUpdate(doc, new Uint8Array(await (await fetch(`${q.url}/api/documents/${encodeURIComponent(name)}/state`, { headers: apiKey })).arrayBuffer()))
    return paragraphsOf(doc)
  }, (got) => JSON.stringify(got) === JSON.stringify(texts), `the server to hold ${JSON.stringify(texts)} in ${name}`)
}

/**
 * A synced stock client of `name` on `q` as user `sub` (named `sub` in capitals),
 * with a token for the documents under `prefix` (read-only when asked); closed by `cleanup`.
 */
export async function historyEditor (q: QuireProcess, name: string, sub: string, opts: { prefix: string, readonly?: boolean, cleanup: TestClient[] }): Promise<TestClient> {
  const names = [`${opts.prefix}*`]
  const claims = opts.readonly ? { readonlyDocumentNames: names } : { allowedDocumentNames: names }
  const client = connectClient(q.wsUrl, name, { token: await mintToken({ sub, name: sub.toUpperCase(), ...claims }) })
  opts.cleanup.push(client)
  await whenSynced(client, `${sub} to sync ${name} on :${q.port}`)
  return client
}

/** `client` writes these paragraphs; resolves once the server holds them. */
export async function writeAndStore (q: QuireProcess, name: string, client: TestClient, texts: string[]): Promise<void> {
  setParagraphs(client.doc, texts)
  await whenStored(q, name, texts)
}
