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
 * Each document also has versions (docs/history.md): full snapshots with a
 * record of when, why and who, kept beside its log in the same store.
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
  // ---- versions (docs/history.md) ----
  /**
   * Keep a version: `state` is the whole document as one update. The users
   * noted as editors since the previous version become its users, and are
   * forgotten, atomically with storing it.
   */
  putVersion (name: string, version: NewVersion, state: Uint8Array): Promise<VersionInfo>
  /** Newest first: at most `limit` (default all), older than the version `before` when given. */
  listVersions (name: string, page?: { before?: string, limit?: number }): Promise<VersionInfo[]>
  getVersion (name: string, id: string): Promise<StoredVersion | null>
  /** Forget these versions (ids that do not exist are ignored). */
  deleteVersions (name: string, ids: string[]): Promise<void>
  /** Note users who edited the document since its last version (noting one twice is harmless). */
  noteEditors (name: string, users: VersionUser[]): Promise<void>
  /**
   * Claim the taking of the document's next automatic version: the one
   * caller (across every instance sharing the store) that gets it, until it
   * releases the claim or `ttlMs` passes; null for everyone else meanwhile.
   */
  claimVersion (name: string, ttlMs: number): Promise<VersionClaim | null>
  /** Whether the store answers now (for /readyz). */
  isReady (): Promise<boolean>
  close (): Promise<void>
}

export class StoreError extends Error {}

/** Why a version was taken. */
export type VersionReason = 'auto' | 'manual' | 'before-restore' | 'before-put'

/** A person, as tokens name them (`sub`, `name`). */
export interface VersionUser { id: string, name?: string }

/** What the caller decides about a new version. */
export interface NewVersion {
  /** When it was taken, in ms since the epoch. */
  at: number
  reason: VersionReason
  label?: string
  /** Who asked for it (a manual version, a restore), when known. */
  by?: VersionUser
}

export interface VersionInfo extends NewVersion {
  /** Unique within the document; later versions have greater ids (server/backend/versions.ts). */
  id: string
  /** Who edited the document since the previous version. */
  users: VersionUser[]
  /** Size of its snapshot. */
  bytes: number
}

export interface VersionClaim {
  /** Give the claim up (a claim that expired and went to someone else stays theirs). */
  release (): Promise<void>
}

export interface StoredVersion {
  info: VersionInfo
  /** The whole document at that moment, as one Yjs update. */
  state: Uint8Array
}
