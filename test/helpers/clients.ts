/**
 * Stock y-websocket 3.x clients for tests (created by harness/clients.ts,
 * shared with the bench) and waits on what they see. Every wait here has a
 * deadline (DEADLINE_MS unless given) and rejects naming `what` (wait.ts).
 */
import * as Y from 'yjs'
import type { StockClient } from '../../harness/clients.js'
import { DEADLINE_MS, waitOn, waitUntil } from './wait.js'

export { connectClient } from '../../harness/clients.js'
export type TestClient = StockClient

/** Resolves when `holds` is true, re-checked on every `event` of the provider. */
function whenProvider (client: TestClient, event: 'sync' | 'status', holds: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const { provider } = client
  return waitUntil((on) => {
    provider.on(event, on)
    return () => provider.off(event, on)
  }, holds, what, timeoutMs)
}

/** Resolves when the provider is synced (it got a sync step 2 in answer to its step 1). */
export function whenSynced (client: TestClient, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
  return whenProvider(client, 'sync', () => client.provider.synced, what, timeoutMs)
}

/** Resolves when the provider's WebSocket is open (before any sync). */
export function whenConnected (client: TestClient, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
  return whenProvider(client, 'status', () => client.provider.wsconnected, what, timeoutMs)
}

/** Resolves when `predicate` holds, re-checking on every change of the doc. */
export function whenDoc (doc: Y.Doc, predicate: () => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
  return waitUntil((on) => {
    doc.on('afterTransaction', on)
    return () => doc.off('afterTransaction', on)
  }, predicate, what, timeoutMs)
}

/** Resolves when `predicate` holds, re-checking on every awareness change. */
export function whenAwareness (client: TestClient, predicate: (states: Map<number, Record<string, unknown>>) => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
  const aw = client.provider.awareness
  return waitUntil((on) => {
    aw.on('change', on)
    return () => aw.off('change', on)
  }, () => predicate(aw.getStates() as Map<number, Record<string, unknown>>), what, timeoutMs)
}

/** Resolves with the close event of the provider's next close. */
export function whenClosed (client: TestClient, what: string, timeoutMs = DEADLINE_MS): Promise<{ code: number, reason: string }> {
  const { provider } = client
  let closed: { code: number, reason: string } | undefined
  return waitOn((check) => {
    const on = (event: CloseEvent | null): void => {
      if (event) closed ??= { code: event.code, reason: event.reason }
      check()
    }
    provider.on('connection-close', on)
    return () => provider.off('connection-close', on)
  }, () => closed, what, timeoutMs)
}
