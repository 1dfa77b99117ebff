/**
 * Tools for fault tests with stock clients: typists that insert unique
 * tokens (so a test can check that every edit survived), convergence of
 * several clients, and polling an HTTP status until it is what we expect.
 */
import type { TestClient } from './clients.js'
import { DEADLINE_MS, waitFor, waitOn } from './wait.js'

export interface Typist {
  /** Every token this client typed, in order. */
  tokens: string[]
  stop (): void
}

/** Insert a unique token at a pseudo-random place every `everyMs`, until stopped. */
export function startTyping (client: TestClient, label: string, everyMs = 15): Typist {
  const tokens: string[] = []
  let n = 0
  const timer = setInterval(() => {
    const token = `<${label}.${n++}>`
    tokens.push(token)
    const text = client.text
    // At a token boundary, so tokens never split each other.
    const boundaries = [0]
    const s = text.toString()
    for (let i = 0; i < s.length; i++) if (s[i] === '>') boundaries.push(i + 1)
    text.insert(boundaries[(n * 7919) % boundaries.length], token)
  }, everyMs)
  return { tokens, stop: () => clearInterval(timer) }
}

/** Resolves when every client is synced and holds the same text, and it contains every token. */
export function whenConverged (clients: TestClient[], tokens: string[], what: string, timeoutMs = DEADLINE_MS): Promise<string> {
  const converged = (): string | undefined => {
    const first = clients[0].text.toString()
    for (const c of clients) if (c.text.toString() !== first || !c.provider.synced) return undefined
    for (const t of tokens) if (!first.includes(t)) return undefined
    return first
  }
  return waitOn((on) => {
    for (const c of clients) {
      c.doc.on('afterTransaction', on)
      c.provider.on('sync', on)
    }
    return () => {
      for (const c of clients) {
        c.doc.off('afterTransaction', on)
        c.provider.off('sync', on)
      }
    }
  }, converged, what, timeoutMs)
}

/** Poll `url` until it answers `status` (there is no event to wait on for readiness). */
export async function whenStatus (url: string, status: number, timeoutMs = DEADLINE_MS): Promise<void> {
  await waitFor(() => fetch(url).then((r) => r.status, () => 0), (got) => got === status, `${url} to answer ${status}`, timeoutMs)
}
