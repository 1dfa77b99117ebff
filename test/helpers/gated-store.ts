/**
 * A MemoryStore whose loads and appends can be held at a gate or made to
 * fail, and which counts its calls: for tests of the layers above the store
 * (one load at a time, durable before relay, degraded mode).
 */
import { MemoryStore } from '../../server/backend/memory-store.js'
import type { AppendResult, LogPosition, StoredDoc } from '../../server/backend/store.js'

export interface Gate { promise: Promise<void>, open (): void }

export function gate (): Gate {
  let open!: () => void
  const promise = new Promise<void>((resolve) => { open = resolve })
  return { promise, open }
}

export class GatedStore extends MemoryStore {
  calls = { load: 0, append: 0, compact: 0 }
  loadGate: Gate | null = null
  appendGate: Gate | null = null
  failLoads: Error | null = null
  failAppends: Error | null = null

  override async load (name: string): Promise<StoredDoc> {
    this.calls.load++
    await this.loadGate?.promise
    if (this.failLoads) throw this.failLoads
    return super.load(name)
  }

  override async append (name: string, updates: Uint8Array[]): Promise<AppendResult> {
    this.calls.append++
    await this.appendGate?.promise
    if (this.failAppends) throw this.failAppends
    return super.append(name, updates)
  }

  override async compact (name: string, snapshot: Uint8Array, through: LogPosition): Promise<void> {
    this.calls.compact++
    return super.compact(name, snapshot, through)
  }
}

/** Let pending callbacks of this turn and the next run (no timers involved). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
