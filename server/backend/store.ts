/**
 * The persistence seam. Both the embedded store and the Redis store implement
 * it and pass the same contract tests (test/store-contract.ts).
 *
 * A document is a log of Yjs updates. `append` resolves only once the updates
 * are durable; the document layer relays nothing to other clients before
 * that. `compact` folds the log up to a position into one snapshot that the
 * caller built from a Y.Doc, atomically, without losing anything appended
 * after that position.
 *
 * A document *exists* once anything was stored for it. `create` stores a
 * document's first update only if it does not exist, atomically with every
 * other write to it (on any instance), so initial content goes in exactly
 * once; `delete` removes everything stored for it; `list` pages through the
 * documents that exist, in name order.
 */

/** Opaque, store-defined position of an entry in a document's log. */
export type LogPosition = string

export interface StoredDoc {
  /** Snapshot (if any) first, then updates in append order. */
  updates: Uint8Array[]
  /** Position of the last entry read, or null for an empty document. */
  position: LogPosition | null
  /** Total bytes of `updates`. */
  bytes: number
}

export interface AppendResult {
  /** Position of the last entry written. */
  position: LogPosition
}

/** One document as `list` describes it. */
export interface DocSummary {
  name: string
  /** Bytes stored (snapshot and updates). */
  bytes: number
  /** When it was last written (ms since the epoch), or null when the store does not know. */
  updatedAt: number | null
}

export interface DocPage {
  documents: DocSummary[]
  /** Pass it back to get the next page; null on the last one. */
  cursor: string | null
}

export interface DocStore {
  readonly kind: string
  load (name: string): Promise<StoredDoc>
  append (name: string, updates: Uint8Array[]): Promise<AppendResult>
  /** Replace every entry up to and including `through` with `snapshot`. */
  compact (name: string, snapshot: Uint8Array, through: LogPosition): Promise<void>
  /** Whether anything is stored for the document. */
  exists (name: string): Promise<boolean>
  /**
   * Store `update` as the document's first entry, unless it exists: false
   * then, and nothing is written. Atomic with every other write to the
   * document, from any instance.
   */
  create (name: string, update: Uint8Array): Promise<boolean>
  /** Remove everything stored for the document; false when there was nothing. */
  delete (name: string): Promise<boolean>
  /**
   * Documents whose names start with `prefix`, in name order, at most
   * `limit`, after `cursor` (the `cursor` of the page before; null for the first).
   */
  list (prefix: string, cursor: string | null, limit: number): Promise<DocPage>
  /** Whether the store answers now (for /readyz). */
  isReady (): Promise<boolean>
  close (): Promise<void>
}

export class StoreError extends Error {}
