/**
 * The write pipeline (server/document/write-pipeline.ts) alone, driven by a
 * seeded generator: several peers submit updates and no-op messages and ask
 * for replies while the store answers appends late, out of turn with other
 * work, or fails for a while. Whatever the order, nothing is relayed or
 * answered before it is durable (unless the store is failing), every peer's
 * acknowledgements count its messages in order, and the store ends up with
 * every update in the order it was submitted.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMetrics } from '../../server/ops/metrics.js'
import { WritePipeline } from '../../server/document/write-pipeline.js'
import type { AppendResult } from '../../server/backend/store.js'
import { FakePeer } from '../helpers/fake-peer.js'
import { deferred, forEachSeed, prng, settle, type Deferred } from '../helpers/seeded.js'

interface PendingAppend { updates: Uint8Array[], done: Deferred<AppendResult> }

function harness (maxGatedPerPeer = 1000) {
  const metrics = createMetrics()
  const stored: Uint8Array[] = []
  const appends: PendingAppend[] = []
  const relayed: Array<{ updates: Uint8Array[], durableAtRelay: number, failing: boolean }> = []
  let failing = false
  const pipeline = new WritePipeline({
    append: (updates) => {
      const done = deferred<AppendResult>()
      appends.push({ updates, done })
      return done.promise
    },
    relay: (updates) => relayed.push({ updates, durableAtRelay: stored.length, failing }),
    stored: () => {},
    degraded: (f) => { failing = f },
    persisted: () => {},
  }, { maxGatedPerPeer, timers: metrics.timersActive })
  return { pipeline, stored, appends, relayed, metrics, isFailing: () => failing }
}

const update = (n: number): Uint8Array => new Uint8Array([n >> 8, n & 0xff, 7])
const id = (u: Uint8Array): number => (u[0] << 8) | u[1]

describe('write pipeline, seeded', () => {
  // Retries wait on timers (250 ms doubling to 5 s): run them on a fake clock.
  beforeEach(() => { vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }) })
  afterEach(() => { vi.useRealTimers() })

  it('durable before relay, acks in order, the store keeps submission order', async () => {
    await forEachSeed(async (gen) => {
      const h = harness()
      const peers = [new FakePeer(), new FakePeer(), new FakePeer()]
      const sent = new Map<FakePeer, number>(peers.map((p) => [p, 0]))
      const submitted: number[] = []
      let next = 1
      for (let step = 0; step < 200; step++) {
        const action = prng.int32(gen, 0, 9)
        const peer = prng.oneOf(gen, peers)
        if (action <= 4) {
          const n = next++
          submitted.push(n)
          sent.set(peer, sent.get(peer)! + 1)
          h.pipeline.submit(peer, update(n))
        } else if (action === 5) {
          sent.set(peer, sent.get(peer)! + 1)
          h.pipeline.submit(peer, null)
        } else if (action === 6) {
          // A reply holding everything applied so far.
          const holds = submitted.length
          h.pipeline.sendWhenDurable(peer, new Uint8Array([0xee, holds]))
        } else if (action === 7 && h.appends.length > 0) {
          const a = h.appends.shift()!
          h.stored.push(...a.updates)
          a.done.resolve({ position: String(h.stored.length) })
        } else if (action === 8 && h.appends.length > 0) {
          h.appends.shift()!.done.reject(new Error('store down'))
        } else {
          vi.advanceTimersByTime(prng.int32(gen, 0, 6000))
        }
        await settle(1)
        // Nothing relayed while healthy was undurable at the time.
        for (const r of h.relayed) {
          if (r.failing) continue
          for (const u of r.updates) expect(h.stored.some((s) => id(s) === id(u)), `update ${id(u)} relayed before it was stored`).toBe(true)
        }
      }
      // The store comes back and drains everything.
      for (let guard = 0; guard < 1000 && (h.appends.length > 0 || !h.pipeline.isIdle); guard++) {
        const a = h.appends.shift()
        if (a) {
          h.stored.push(...a.updates)
          a.done.resolve({ position: String(h.stored.length) })
        }
        vi.advanceTimersByTime(5000)
        await settle()
      }
      await h.pipeline.whenIdle()
      expect(h.stored.map(id)).toEqual(submitted)
      expect(h.isFailing()).toBe(false)
      for (const peer of peers) {
        expect(peer.acks, 'acknowledgements rise').toEqual([...peer.acks].sort((a, b) => a - b))
        expect(peer.acks.at(-1) ?? 0, 'the last acknowledgement covers every message').toBe(sent.get(peer))
      }
      expect((await h.metrics.timersActive.get()).values[0].value, 'no timer left behind').toBe(0)
    })
  })

  it('a reply waits for the data it holds, not for messages that brought nothing', async () => {
    const h = harness()
    const a = new FakePeer()
    const reader = new FakePeer()
    h.pipeline.submit(a, update(1))
    h.pipeline.sendWhenDurable(reader, new Uint8Array([1]))
    await settle()
    expect(reader.frames).toEqual([])
    const first = h.appends.shift()!
    first.done.resolve({ position: '1' })
    await settle()
    expect(reader.frames).toHaveLength(1)
    // No-op messages queue nothing to write: a reply after them is not held back.
    for (let i = 0; i < 100; i++) h.pipeline.submit(a, null)
    h.pipeline.sendWhenDurable(reader, new Uint8Array([2]))
    expect(reader.frames).toHaveLength(2)
  })

  it('a peer with too many replies waiting is refused; another is not', async () => {
    const h = harness(3)
    const writer = new FakePeer()
    const greedy = new FakePeer()
    const other = new FakePeer()
    h.pipeline.submit(writer, update(1))
    for (let i = 0; i < 3; i++) expect(h.pipeline.sendWhenDurable(greedy, new Uint8Array([i]))).toBe(true)
    expect(h.pipeline.sendWhenDurable(greedy, new Uint8Array([9]))).toBe(false)
    expect(h.pipeline.sendWhenDurable(other, new Uint8Array([1]))).toBe(true)
    await settle()
    h.appends.shift()!.done.resolve({ position: '1' })
    await settle()
    expect(greedy.frames).toHaveLength(3)
    expect(other.frames).toHaveLength(1)
    // Released replies free the budget again.
    expect(h.pipeline.sendWhenDurable(greedy, new Uint8Array([4]))).toBe(true)
  })

  it('degraded: relays and answers at once, acknowledges nothing until the store has it', async () => {
    const h = harness()
    const a = new FakePeer()
    const reader = new FakePeer()
    h.pipeline.submit(a, update(1))
    await settle()
    h.appends.shift()!.done.reject(new Error('down'))
    await settle()
    expect(h.pipeline.isDegraded).toBe(true)
    expect(h.pipeline.state).toBe('backing-off')
    expect(h.relayed.map((r) => r.updates.map(id))).toEqual([[1]])
    h.pipeline.submit(a, update(2))
    expect(h.relayed.map((r) => r.updates.map(id))).toEqual([[1], [2]])
    h.pipeline.sendWhenDurable(reader, new Uint8Array([7]))
    expect(reader.frames).toHaveLength(1)
    expect(a.acks).toEqual([])
    // The retry (after 250 ms) writes both, in order, and acknowledges them.
    vi.advanceTimersByTime(249)
    await settle()
    expect(h.appends).toHaveLength(0)
    vi.advanceTimersByTime(1)
    await settle()
    const retry = h.appends.shift()!
    expect(retry.updates.map(id)).toEqual([1, 2])
    retry.done.resolve({ position: '2' })
    await h.pipeline.whenIdle()
    expect(h.pipeline.isDegraded).toBe(false)
    expect(a.acks.at(-1)).toBe(2)
    // Not relayed twice.
    expect(h.relayed).toHaveLength(2)
  })
})
