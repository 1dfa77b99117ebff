/**
 * When to fold a document's stored log into one snapshot, and doing it
 * (docs/architecture.md, "The path of one update", step 4).
 *
 * The log grows by one entry per write batch (and per update another
 * instance stores). Once it holds COMPACT_ENTRIES entries, or more bytes
 * than twice the last snapshot (at least COMPACT_MIN_BYTES), the Y.Doc is
 * encoded and replaces every entry up to the position the encoding covers;
 * entries appended meanwhile stay. Loading stays fast (few entries), and the
 * stored size stays close to the encoded size.
 */
import type { DocStore, LogPosition, StoredDoc } from '../backend/store.js'
import type { Logger } from '../ops/log.js'

export const COMPACT_ENTRIES = 1000
export const COMPACT_MIN_BYTES = 1 << 20

export class Compaction {
  /** Position of the last entry stored (null: nothing stored yet). */
  private position: LogPosition | null
  private entries: number
  private bytes: number
  /** Encoded size at the last snapshot: the log may grow to twice it. */
  private snapshotBytes: number
  private running = false

  constructor (stored: StoredDoc, private readonly store: DocStore, private readonly name: string, private readonly log: Logger) {
    this.position = stored.position
    this.entries = stored.updates.length
    this.bytes = stored.bytes
    this.snapshotBytes = stored.updates.length === 1 ? stored.bytes : 0
  }

  /** Entries this instance stored, ending at `position`. */
  noteStored (updates: Uint8Array[], position: LogPosition): void {
    this.position = position
    this.count(updates)
  }

  /** Entries another instance stored (their position is the bus's business). */
  noteRemote (updates: Uint8Array[]): void {
    this.count(updates)
  }

  get due (): boolean {
    return !this.running && this.position !== null && this.entries > 1 &&
      (this.entries >= COMPACT_ENTRIES || this.bytes >= Math.max(COMPACT_MIN_BYTES, 2 * this.snapshotBytes))
  }

  /**
   * Fold the log up to the last stored position into `encode()`'s snapshot.
   * `encode` runs in this turn, before any await, so the snapshot covers
   * that position. Failures are logged; the next write tries again.
   */
  async run (encode: () => Uint8Array): Promise<void> {
    if (this.running || this.position === null || this.entries <= 1) return
    this.running = true
    const through = this.position
    const entriesBefore = this.entries
    const bytesBefore = this.bytes
    try {
      const snapshot = encode()
      await this.store.compact(this.name, snapshot, through)
      // The snapshot, plus whatever was stored while it was written.
      this.entries = 1 + this.entries - entriesBefore
      this.bytes = snapshot.length + this.bytes - bytesBefore
      this.snapshotBytes = snapshot.length
    } catch (err) {
      this.log.warn({ err, doc: this.name }, 'compaction failed; will retry later')
    } finally {
      this.running = false
    }
  }

  private count (updates: Uint8Array[]): void {
    this.entries += updates.length
    for (const u of updates) this.bytes += u.length
  }
}
