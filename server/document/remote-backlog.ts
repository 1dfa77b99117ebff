/**
 * Other instances' updates on their way into this instance's Y.Doc
 * (docs/architecture.md, "The path of one update", step 5).
 *
 * They arrive already durable, checked and Yjs-encoded by the instance that
 * took them, so the document relays them at once and applies them only when
 * something needs its state (a peer joining, a local edit, a read,
 * compaction), or once MAX_UPDATES (or MAX_BYTES) wait: all together, in
 * one transaction, which costs one cleanup and one update event instead of
 * one per update. An instance whose clients only read then does no Yjs work
 * per update (docs/performance.md).
 */
import * as Y from 'yjs'

const MAX_UPDATES = 256
const MAX_BYTES = 1 << 20

export class RemoteBacklog {
  private pending: Uint8Array[] = []
  private bytes = 0

  /** `failed`: an update Yjs refused (it was relayed already; logged, never thrown). */
  constructor (private readonly failed: (err: unknown) => void) {}

  get isEmpty (): boolean { return this.pending.length === 0 }

  /** Queue updates; true once enough wait that they should be applied now. */
  add (updates: Uint8Array[]): boolean {
    for (const update of updates) {
      this.pending.push(update)
      this.bytes += update.length
    }
    return this.pending.length >= MAX_UPDATES || this.bytes >= MAX_BYTES
  }

  /** Apply every waiting update to `ydoc` in one transaction with `origin`. */
  applyTo (ydoc: Y.Doc, origin: unknown): void {
    const pending = this.pending
    this.clear()
    Y.transact(ydoc, () => {
      for (const update of pending) {
        try {
          Y.applyUpdate(ydoc, update, origin)
        } catch (err) {
          this.failed(err)
        }
      }
    }, origin)
  }

  clear (): void {
    this.pending = []
    this.bytes = 0
  }
}
