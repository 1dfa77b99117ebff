/**
 * The documents the hooks share: one Y.Doc and one QuireProvider per
 * (server, document, token, identity), counted by who holds them, and
 * destroyed only after the last holder let go and nobody took it back by the
 * next task. That pause is what keeps React StrictMode's mount → unmount →
 * mount (run within one commit) on one provider and one socket, and lets
 * `<QuireEditor>` and `useQuireDocument` for the same document share them
 * (docs/embedding-react.md, "StrictMode").
 */
import type * as Y from 'yjs'
import type { QuireProvider } from '@quire/provider'

export interface QuireDocument {
  ydoc: Y.Doc
  provider: QuireProvider
}

export interface DocumentKeyParts {
  server: string
  doc: string
  token?: string | null
  identity?: string | null
}

export interface Lease {
  readonly document: QuireDocument
  /** Let go of the document (once; later calls do nothing). */
  release (): void
}

interface Entry {
  document: QuireDocument
  holders: number
  closing: ReturnType<typeof setTimeout> | null
}

export class DocumentCache {
  private readonly entries = new Map<string, Entry>()

  /**
   * The document for `key` while someone holds it, without holding it; null
   * when nobody does (one that is closing is not handed out: it may be
   * destroyed before whoever reads it holds it).
   */
  peek (key: string): QuireDocument | null {
    const entry = this.entries.get(key)
    return entry !== undefined && entry.holders > 0 ? entry.document : null
  }

  /** Hold the document for `key`, made by `create` when there is none. */
  acquire (key: string, create: () => QuireDocument): Lease {
    let entry = this.entries.get(key)
    if (entry === undefined) {
      entry = { document: create(), holders: 0, closing: null }
      this.entries.set(key, entry)
    }
    if (entry.closing !== null) {
      clearTimeout(entry.closing)
      entry.closing = null
    }
    entry.holders++
    const held = entry
    let released = false
    return {
      document: held.document,
      release: () => {
        if (released) return
        released = true
        held.holders--
        if (held.holders === 0) held.closing = setTimeout(() => this.close(key, held), 0)
      },
    }
  }

  /** How many documents are open or closing (for tests). */
  get size (): number {
    return this.entries.size
  }

  private close (key: string, entry: Entry): void {
    if (entry.holders > 0 || this.entries.get(key) !== entry) return
    this.entries.delete(key)
    entry.document.provider.destroy()
    entry.document.ydoc.destroy()
  }
}

export function documentKey ({ server, doc, token, identity }: DocumentKeyParts): string {
  return JSON.stringify([server, doc, token ?? null, identity ?? null])
}

/** The cache every hook and `<QuireEditor>` of the page uses. */
export const documents = new DocumentCache()
