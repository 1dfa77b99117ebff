/**
 * Stock y-websocket 3.x clients for tests (created by harness/clients.ts,
 * shared with the bench) and waits on what they see.
 */
import * as Y from 'yjs'
import type { StockClient } from '../../harness/clients.js'

export { connectClient } from '../../harness/clients.js'
export type TestClient = StockClient

export function whenSynced (client: TestClient): Promise<void> {
  if (client.provider.synced) return Promise.resolve()
  return new Promise((resolve) => {
    const on = (synced: boolean): void => {
      if (!synced) return
      client.provider.off('sync', on)
      resolve()
    }
    client.provider.on('sync', on)
  })
}

/** Resolves when `predicate` holds, re-checking on every change of the doc. */
export function whenDoc (doc: Y.Doc, predicate: () => boolean): Promise<void> {
  if (predicate()) return Promise.resolve()
  return new Promise((resolve) => {
    const on = (): void => {
      if (!predicate()) return
      doc.off('afterTransaction', on)
      resolve()
    }
    doc.on('afterTransaction', on)
  })
}

/** Resolves when `predicate` holds, re-checking on every awareness change. */
export function whenAwareness (client: TestClient, predicate: (states: Map<number, Record<string, unknown>>) => boolean): Promise<void> {
  const aw = client.provider.awareness
  if (predicate(aw.getStates() as Map<number, Record<string, unknown>>)) return Promise.resolve()
  return new Promise((resolve) => {
    const on = (): void => {
      if (!predicate(aw.getStates() as Map<number, Record<string, unknown>>)) return
      aw.off('change', on)
      resolve()
    }
    aw.on('change', on)
  })
}

/** Resolves with the close event of the provider's next close. */
export function whenClosed (client: TestClient): Promise<{ code: number, reason: string }> {
  return new Promise((resolve) => {
    const on = (event: { code: number, reason: string }): void => {
      client.provider.off('connection-close', on as never)
      resolve({ code: event.code, reason: event.reason })
    }
    client.provider.on('connection-close', on as never)
  })
}
