/**
 * useQuireDocument: a Y.Doc (from the app's own `yjs`) kept in sync with a
 * Quire server by a QuireProvider, shared by every component of the page
 * that asks for the same server, document, token and identity. Both are
 * null on the first render and set once the component is mounted: they are
 * made in the commit, never during render, so a render React throws away
 * leaves nothing open (docs/embedding-react.md).
 */
import { useCallback, useRef, useSyncExternalStore, type RefObject } from 'react'
import * as Y from 'yjs'
import { QuireProvider, type QuireProviderOptions } from '@quire/provider'
import { documentKey, documents, type QuireDocument } from './document-cache.js'

export interface UseQuireDocumentOptions extends Omit<QuireProviderOptions, 'ydoc' | 'awareness' | 'connect' | 'offline'> {
  /** Keep the document and unsent edits in IndexedDB, per signed-in person (default true, as the editor does). */
  offline?: boolean
}

export interface UseQuireDocument {
  /** The shared document; null until the component is mounted. */
  ydoc: Y.Doc | null
  /** Its provider (connection, awareness, saved state); null until the component is mounted. */
  provider: QuireProvider | null
}

const noDocument = (): null => null

export function useQuireDocument (options: UseQuireDocumentOptions): UseQuireDocument {
  const key = documentKey(options)
  // The provider asks for tokens long after this render: it reads the latest getToken.
  const latest = useRef(options)
  latest.current = options

  const subscribe = useCallback((changed: () => void) => {
    const lease = documents.acquire(key, () => openDocument(latest))
    changed()
    return lease.release
  }, [key])
  const getSnapshot = useCallback(() => documents.peek(key), [key])
  const document = useSyncExternalStore(subscribe, getSnapshot, noDocument)
  return { ydoc: document?.ydoc ?? null, provider: document?.provider ?? null }
}

function openDocument (latest: RefObject<UseQuireDocumentOptions>): QuireDocument {
  const options = latest.current
  const ydoc = new Y.Doc()
  const getToken = options.getToken === undefined ? undefined : () => latest.current.getToken?.()
  const provider = new QuireProvider({ ...options, offline: options.offline !== false, getToken, ydoc })
  return { ydoc, provider }
}
