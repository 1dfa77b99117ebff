/**
 * Answers to a client's sync step 1 from a warm document (docs/architecture.md,
 * "the path of one update"): the full state for an empty state vector, the
 * difference for any other. Both cost time in proportion to the document,
 * so they are cached until the document changes: a crowd joining together,
 * or clients asking with the same vector, cost one encoding.
 */
import * as Y from 'yjs'
import { encodeSyncStep2 } from '../../common/messages.js'

/** Answers to distinct non-empty state vectors kept between changes. */
const DIFF_CACHE_SIZE = 8

export class StateAnswers {
  /** Full state for clients that arrive with an empty state vector. */
  private full: Uint8Array | null = null
  /** Answers to non-empty state vectors, by the vector's bytes. */
  private readonly diffs = new Map<string, Uint8Array>()

  /** The sync step 2 carrying the whole document. */
  fullState (ydoc: Y.Doc): Uint8Array {
    return this.full ??= encodeSyncStep2(Y.encodeStateAsUpdate(ydoc))
  }

  /**
   * The sync step 2 carrying what a client with `stateVector` lacks. A fresh
   * encoding is reported to `charge` with its milliseconds, so the asker's
   * work budget pays for it (docs/security.md, "Limits").
   */
  diff (ydoc: Y.Doc, stateVector: Uint8Array, charge: (ms: number) => void): Uint8Array {
    const key = Buffer.from(stateVector).toString('base64')
    const cached = this.diffs.get(key)
    if (cached !== undefined) return cached
    const started = performance.now()
    const frame = encodeSyncStep2(Y.encodeStateAsUpdate(ydoc, stateVector))
    charge(performance.now() - started)
    if (this.diffs.size >= DIFF_CACHE_SIZE) this.diffs.delete(this.diffs.keys().next().value!)
    this.diffs.set(key, frame)
    return frame
  }

  /** The document changed: every answer is stale. */
  clear (): void {
    this.full = null
    this.diffs.clear()
  }
}
