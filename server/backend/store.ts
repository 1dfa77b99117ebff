/**
 * The persistence seam. Both the embedded store and the Redis store implement
 * it and pass the same contract tests (test/store-contract.ts).
 *
 * A document is a log of Yjs updates. `append` resolves only once the updates
 * are durable; the document layer relays nothing to other clients before
 * that. `compact` folds the log up to a position into one snapshot that the
 * caller built from a Y.Doc, atomically, without losing anything appended
 * after that position.
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

export interface DocStore {
  readonly kind: string
  load (name: string): Promise<StoredDoc>
  append (name: string, updates: Uint8Array[]): Promise<AppendResult>
  /** Replace every entry up to and including `through` with `snapshot`. */
  compact (name: string, snapshot: Uint8Array, through: LogPosition): Promise<void>
  /** Whether the store answers now (for /readyz). */
  isReady (): Promise<boolean>
  close (): Promise<void>
}

export class StoreError extends Error {}
