/**
 * The presence relay (server/document/presence-relay.ts): ownership of
 * awareness client ids, reconnect claims, identity from the token, budgets,
 * and never sending a client states for its own ids. A seeded run mixes
 * honest clients (announcing, renewing, echoing what they receive,
 * leaving, reconnecting) with a forger that claims and removes others' ids.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMetrics } from '../../server/ops/metrics.js'
import { PresenceRelay, DEFAULT_PRESENCE_LIMITS, SNAPSHOT_WAIT_MS, type PresenceLimits } from '../../server/document/presence-relay.js'
import { MAX_WINDOW_MS, PRESENCE_LOOP_SHARE } from '../../server/document/presence-pace.js'
import type { Peer } from '../../server/document/peer.js'
import { decodeAwarenessUpdate, encodeAwarenessUpdate } from '../../common/awareness.js'
import { CLOSE } from '../../common/close-codes.js'
import { FakePeer } from '../helpers/fake-peer.js'
import { readServerFrame } from '../helpers/frames.js'
import { forEachSeed, prng } from '../helpers/seeded.js'

/**
 * `flushCpuMs`: the CPU time every flush takes, as the pace measures it (a
 * clock that advances by it during each flush), so the window is known:
 * flushCpuMs / PRESENCE_LOOP_SHARE, capped.
 */
function setup (limits: Partial<PresenceLimits> = {}, flushCpuMs = 0) {
  const metrics = createMetrics()
  let cpu = 0
  let calls = 0
  const peers = new Set<Peer>()
  const published: Uint8Array[] = []
  const refusals: string[] = []
  const relay = new PresenceRelay({
    peers,
    limits: { ...DEFAULT_PRESENCE_LIMITS, ...limits },
    timers: metrics.timersActive,
    publish: (u) => published.push(u),
    refused: (limit) => refusals.push(limit),
    // Read at a flush's start and end: every second reading is a flush later.
    cpuMs: () => (cpu += calls++ % 2 === 1 ? flushCpuMs : 0),
  })
  const join = (user: Peer['user'] = null): FakePeer => {
    const p = new FakePeer(true, user)
    peers.add(p)
    relay.join(p)
    return p
  }
  const leave = (p: FakePeer): void => {
    peers.delete(p)
    relay.leave(p)
  }
  return { relay, join, leave, published, refusals, peers, metrics }
}

const say = (clientId: number, clock: number, state: unknown): Uint8Array =>
  encodeAwarenessUpdate([{ clientId, clock, json: JSON.stringify(state) }])

/** Every awareness entry a peer was sent, in order. */
function received (peer: FakePeer): Array<[number, unknown, number]> {
  const out: Array<[number, unknown, number]> = []
  for (const f of peer.frames) {
    const m = readServerFrame(f)
    if (m.type === 'awareness') for (const e of decodeAwarenessUpdate(m.payload)) out.push([e.clientId, JSON.parse(e.json), e.clock])
  }
  return out
}
const seen = (peer: FakePeer): Map<number, unknown> => {
  const states = new Map<number, unknown>()
  for (const [id, state] of received(peer)) if (state === null) states.delete(id); else states.set(id, state)
  return states
}

describe('presence relay', () => {
  beforeEach(() => { vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }) })
  afterEach(() => { vi.useRealTimers() })
  const tick = (): void => { vi.advanceTimersByTime(100) }

  it('an id belongs to the connection that announced it first; others cannot set or remove it', () => {
    const { relay, join } = setup()
    const victim = join()
    const attacker = join()
    const watcher = join()
    relay.receive(victim, say(7, 1, { user: { name: 'Victim' } }))
    relay.receive(attacker, say(8, 1, { user: { name: 'Attacker' } }))
    relay.receive(watcher, say(9, 1, {}))
    tick()
    relay.receive(attacker, say(7, 99, { user: { name: 'Forged' } }))
    relay.receive(attacker, encodeAwarenessUpdate([{ clientId: 7, clock: 100, json: 'null' }]))
    tick()
    expect(seen(watcher).get(7)).toEqual({ user: { name: 'Victim' } })
    // The victim never receives any state for its own id.
    expect(received(victim).some(([id]) => id === 7)).toBe(false)
  })

  it('a client is never sent states of its own ids, not even in the snapshot of a reconnect', () => {
    const { relay, join, leave } = setup()
    const old = join()
    relay.receive(old, say(7, 3, { v: 'old' }))
    const watcher = join()
    relay.receive(watcher, say(9, 1, {}))
    tick()
    // Reconnected before the old close is noticed: its first message announces 7 again.
    const fresh = join()
    relay.receive(fresh, say(7, 3, { v: 'old' }))
    tick()
    expect(received(fresh).some(([id]) => id === 7)).toBe(false)
    expect(seen(fresh).get(9)).toEqual({})
    // The old connection goes: the claim takes over, nobody sees 7 vanish.
    leave(old)
    tick()
    expect(seen(watcher).get(7)).toEqual({ v: 'old' })
    relay.receive(fresh, say(7, 4, { v: 'new' }))
    tick()
    expect(seen(watcher).get(7)).toEqual({ v: 'new' })
    leave(fresh)
    tick()
    expect(seen(watcher).has(7)).toBe(false)
  })

  it('with auth on, only the same user may claim a held id, and user.id/name come from the token', () => {
    const { relay, join, leave } = setup()
    const alice = join({ id: 'alice', name: 'Alice' })
    const mallory = join({ id: 'mallory', name: 'Mallory' })
    const watcher = join({ id: 'w' })
    relay.receive(watcher, say(9, 1, {}))
    relay.receive(alice, say(7, 1, { user: { id: 'bob', name: 'Bob', color: '#f00' } }))
    // Mallory's first message claims Alice's id: not the same user, ignored.
    relay.receive(mallory, say(7, 5, { user: { name: 'Alice' } }))
    tick()
    expect(seen(watcher).get(7)).toEqual({ user: { id: 'alice', name: 'Alice', color: '#f00' } })
    leave(alice)
    tick()
    expect(seen(watcher).has(7)).toBe(false)
    expect(seen(mallory).get(9)).toEqual({ user: { id: 'w', name: 'w' } })
  })

  it('a first message that comes after the snapshot echoes it and claims nothing: a remote client\'s removal still removes it', () => {
    const { relay, join } = setup()
    const watcher = join({ id: 'bob' })
    relay.receive(watcher, say(9, 1, {}))
    relay.receiveRemote('B', say(5, 1, { user: { id: 'alice', name: 'alice' } }))
    // Alice's second tab, on a loaded server: its snapshot's wait runs out
    // before its first message, which then echoes her first tab's state too.
    const secondTab = join({ id: 'alice' })
    vi.advanceTimersByTime(SNAPSHOT_WAIT_MS)
    expect(seen(secondTab).has(5)).toBe(true)
    relay.receive(secondTab, encodeAwarenessUpdate([
      { clientId: 5, clock: 1, json: JSON.stringify({ user: { id: 'alice', name: 'alice' } }) },
      { clientId: 6, clock: 1, json: '{}' },
    ]))
    tick()
    relay.receiveRemote('B', encodeAwarenessUpdate([{ clientId: 5, clock: 2, json: 'null' }]))
    tick()
    expect(seen(watcher).has(5)).toBe(false)
    expect(seen(watcher).get(6)).toEqual({ user: { id: 'alice', name: 'alice' } })
  })

  it('with auth on, only the same user may claim an id held on another instance', () => {
    const { relay, join } = setup()
    const watcher = join({ id: 'w' })
    relay.receive(watcher, say(9, 1, {}))
    const alicesState = { user: { id: 'alice', name: 'Alice' } }
    relay.receiveRemote('B', say(5, 1, alicesState))
    relay.receiveRemote('B', say(4, 1, alicesState))
    // Mallory's first message names Alice's id 5; Alice's reconnect names her id 4.
    relay.receive(join({ id: 'mallory' }), say(5, 1, alicesState))
    relay.receive(join({ id: 'alice' }), say(4, 1, alicesState))
    relay.receiveRemote('B', encodeAwarenessUpdate([{ clientId: 5, clock: 2, json: 'null' }, { clientId: 4, clock: 2, json: 'null' }]))
    tick()
    expect(seen(watcher).has(5)).toBe(false)
    expect(seen(watcher).get(4)).toEqual(alicesState)
  })

  it('states from another instance change only through that instance', () => {
    const { relay, join } = setup()
    const local = join()
    const watcher = join()
    relay.receive(watcher, say(9, 1, {}))
    relay.receiveRemote('B', say(5, 1, { from: 'B' }))
    relay.receive(local, say(6, 1, {}))
    relay.receive(local, say(5, 9, { from: 'forged' }))
    relay.receiveRemote('C', say(5, 10, { from: 'C' }))
    relay.receiveRemote('C', say(6, 10, { from: 'C' }))
    tick()
    expect(seen(watcher).get(5)).toEqual({ from: 'B' })
    expect(seen(watcher).get(6)).toEqual({})
    relay.receiveRemote('B', encodeAwarenessUpdate([{ clientId: 5, clock: 1, json: 'null' }]))
    tick()
    expect(seen(watcher).has(5)).toBe(false)
  })

  it('budgets: ids per connection, state size, states per document', () => {
    const { relay, join, leave, refusals } = setup({ maxClientIdsPerConnection: 2, maxStateBytes: 100, maxStatesPerDocument: 2 })
    const greedy = join()
    relay.receive(greedy, encodeAwarenessUpdate([1, 2, 3].map((clientId) => ({ clientId, clock: 1, json: '{}' }))))
    expect(greedy.refused?.code).toBe(CLOSE.rateLimited)
    leave(greedy)
    const big = join()
    relay.receive(big, say(10, 1, { pad: 'x'.repeat(200) }))
    expect(big.refused?.code).toBe(CLOSE.tooLarge)
    leave(big)
    const a = join()
    relay.receive(a, say(20, 1, {}))
    const b = join()
    relay.receive(b, say(21, 1, {}))
    const c = join()
    relay.receive(c, say(22, 1, {}))
    expect(c.refused?.code).toBe(CLOSE.unavailable)
    expect(refusals).toEqual(['client_ids_per_connection', 'awareness_state_bytes', 'presence_per_document'])
  })

  it('seeded: honest clients converge on each other\'s own states whatever a forger does', () => {
    return forEachSeed((gen) => {
      const { relay, join, leave, metrics } = setup()
      interface Honest { peer: FakePeer, id: number, clock: number, state: { n: number }, online: boolean }
      const honest: Honest[] = [1, 2, 3, 4].map((id) => ({ peer: join(), id, clock: 0, state: { n: 0 }, online: true }))
      const forger = join()
      relay.receive(forger, say(666, 1, { evil: true }))
      const announce = (h: Honest): void => { relay.receive(h.peer, say(h.id, ++h.clock, h.state)) }
      for (const h of honest) announce(h)
      for (let step = 0; step < 150; step++) {
        const h = prng.oneOf(gen, honest)
        switch (prng.int32(gen, 0, 6)) {
          case 0: h.state = { n: h.state.n + 1 }; if (h.online) announce(h); break
          case 1: {
            // Echo: send back the last few entries it was sent, as they were (stock clients do).
            if (!h.online) break
            const last = received(h.peer).slice(-3)
            if (last.length > 0) relay.receive(h.peer, encodeAwarenessUpdate(last.map(([clientId, s, clock]) => ({ clientId, clock, json: JSON.stringify(s) }))))
            break
          }
          case 2: {
            // Forge: set or remove an honest client's state.
            const target = prng.oneOf(gen, honest).id
            const forged = prng.bool(gen) ? 'null' : JSON.stringify({ n: -1 })
            relay.receive(forger, encodeAwarenessUpdate([{ clientId: target, clock: prng.int32(gen, 0, 1000), json: forged }]))
            break
          }
          case 3:
            if (h.online) {
              // Reconnect: a new connection announces, the old close comes later.
              const old = h.peer
              h.peer = join()
              relay.receive(h.peer, say(h.id, h.clock, h.state))
              leave(old)
            }
            break
          case 4:
            if (h.online && honest.filter((x) => x.online).length > 2) { h.online = false; leave(h.peer) }
            else if (!h.online) { h.online = true; h.peer = join(); announce(h) }
            break
          default: vi.advanceTimersByTime(prng.int32(gen, 0, 400))
        }
        if (!forger.refused) vi.advanceTimersByTime(1)
      }
      vi.advanceTimersByTime(1000)
      for (const viewer of honest.filter((x) => x.online)) {
        const states = seen(viewer.peer)
        for (const other of honest) {
          if (other === viewer) {
            expect(received(viewer.peer).some(([id]) => id === viewer.id), 'a client is sent its own id').toBe(false)
            continue
          }
          if (other.online) expect(states.get(other.id), `client ${viewer.id} sees ${other.id}`).toEqual(other.state)
          else expect(states.has(other.id), `client ${viewer.id} still sees departed ${other.id}`).toBe(false)
        }
      }
      relay.stop()
      return metrics.timersActive.get().then((g) => expect(g.values[0].value).toBe(0))
    })
  })

  describe('pace', () => {
    const frames = (p: FakePeer): number => p.frames.length

    it('a change after a quiet window goes out at once; changes that keep coming wait for the window\'s end, merged per client', () => {
      const flushCpuMs = 2
      const window = flushCpuMs / PRESENCE_LOOP_SHARE
      const { relay, join } = setup({}, flushCpuMs)
      const watcher = join()
      const a = join()
      const b = join()
      relay.receive(watcher, say(9, 1, {}))
      relay.receive(a, say(1, 1, { n: 1 }))
      relay.receive(b, say(2, 1, { n: 1 }))
      vi.advanceTimersByTime(0)
      expect(seen(watcher).get(1)).toEqual({ n: 1 })
      // Quiet for a window: the next change is not held back.
      vi.advanceTimersByTime(window)
      const before = frames(watcher)
      relay.receive(a, say(1, 2, { n: 2 }))
      vi.advanceTimersByTime(0)
      expect(frames(watcher)).toBe(before + 1)
      expect(seen(watcher).get(1)).toEqual({ n: 2 })
      // Within the window: held, merged, and sent once at its end with each client's latest state.
      relay.receive(a, say(1, 3, { n: 3 }))
      vi.advanceTimersByTime(window / 4)
      relay.receive(b, say(2, 2, { n: 2 }))
      relay.receive(a, say(1, 4, { n: 4 }))
      vi.advanceTimersByTime(window / 2)
      expect(frames(watcher)).toBe(before + 1)
      vi.advanceTimersByTime(window / 4)
      expect(frames(watcher)).toBe(before + 2)
      const lastFrame = readServerFrame(watcher.frames.at(-1)!)
      expect(lastFrame.type).toBe('awareness')
      const last = lastFrame.type === 'awareness' ? decodeAwarenessUpdate(lastFrame.payload) : []
      expect(last.map((e) => [e.clientId, JSON.parse(e.json)])).toEqual([[1, { n: 4 }], [2, { n: 2 }]])
    })

    it('the window follows what a flush costs, up to its cap; a cheap room is never held back', () => {
      for (const [flushCpuMs, window] of [[0, 0], [1, 1 / PRESENCE_LOOP_SHARE], [100, MAX_WINDOW_MS]]) {
        const { relay, join } = setup({}, flushCpuMs)
        const watcher = join()
        const a = join()
        relay.receive(watcher, say(9, 1, {}))
        relay.receive(a, say(1, 1, { n: 1 }))
        // The first flush teaches the pace its cost; from then on (smoothed) the window tends to cost / share.
        for (let clock = 2; clock < 60; clock++) {
          relay.receive(a, say(1, clock, { n: clock }))
          vi.advanceTimersByTime(MAX_WINDOW_MS)
        }
        const before = frames(watcher)
        relay.receive(a, say(1, 100, { n: 100 }))
        vi.advanceTimersByTime(0)
        relay.receive(a, say(1, 101, { n: 101 }))
        vi.advanceTimersByTime(Math.max(0, window - 1))
        expect(frames(watcher), `cost ${flushCpuMs} ms: held for the window`).toBe(window === 0 ? before + 2 : before + 1)
        vi.advanceTimersByTime(1)
        expect(frames(watcher), `cost ${flushCpuMs} ms: sent at the window's end`).toBe(before + 2)
        relay.stop()
      }
    })

    it('seeded: under random bursts no change waits longer than a window, flushes are a window apart, and each carries every client\'s latest state', () => {
      return forEachSeed((gen) => {
        const flushCpuMs = prng.int32(gen, 0, 4)
        const window = Math.min(MAX_WINDOW_MS, flushCpuMs / PRESENCE_LOOP_SHARE)
        const { relay, join, metrics } = setup({}, flushCpuMs)
        const watcher = join()
        // When each frame went out (fake time), to tell how long a change waited.
        const sentTimes: number[] = []
        const send = watcher.send.bind(watcher)
        watcher.send = (frame) => { sentTimes.push(performance.now()); send(frame) }
        relay.receive(watcher, say(999, 1, {}))
        const movers = Array.from({ length: 6 }, (_, i) => ({ peer: join(), id: i + 1, clock: 0 }))
        const sentAt = new Map<string, number>()
        const flushTimes: number[] = []
        let seenFrames = 0
        let checking = false
        const collect = (): void => {
          for (; seenFrames < watcher.frames.length; seenFrames++) {
            const now = sentTimes[seenFrames]
            const m = readServerFrame(watcher.frames[seenFrames])
            if (m.type !== 'awareness') continue
            const entries = decodeAwarenessUpdate(m.payload).filter((e) => e.clientId !== 999)
            if (entries.length === 0) continue
            flushTimes.push(now)
            if (!checking) continue
            for (const e of entries) {
              const key = `${e.clientId}@${e.clock}`
              const at = sentAt.get(key)
              expect(at, `${key} was sent`).toBeDefined()
              expect(now - at!, `${key} waited`).toBeLessThanOrEqual(window + 1e-9)
              // Each client's latest state: nothing newer of it was received before this flush.
              const mover = movers[e.clientId - 1]
              expect(e.clock, `client ${e.clientId}'s latest`).toBe(mover.clock)
            }
          }
        }
        // Warm the pace up to its steady window first.
        for (let i = 0; i < 40; i++) {
          const m = movers[i % movers.length]
          relay.receive(m.peer, say(m.id, ++m.clock, { c: m.clock }))
          sentAt.set(`${m.id}@${m.clock}`, performance.now())
          vi.advanceTimersByTime(MAX_WINDOW_MS)
          collect()
        }
        flushTimes.length = 0
        checking = true
        for (let step = 0; step < 300; step++) {
          const m = prng.oneOf(gen, movers)
          relay.receive(m.peer, say(m.id, ++m.clock, { c: m.clock }))
          sentAt.set(`${m.id}@${m.clock}`, performance.now())
          // Bursts (several changes in one turn), steady trickles and quiet gaps.
          const gap = prng.int32(gen, 0, 9)
          vi.advanceTimersByTime(gap < 4 ? 0 : gap < 8 ? prng.int32(gen, 1, Math.max(1, window)) : prng.int32(gen, 1, 3 * MAX_WINDOW_MS))
          collect()
        }
        vi.advanceTimersByTime(MAX_WINDOW_MS)
        collect()
        for (let i = 1; i < flushTimes.length; i++) {
          expect(flushTimes[i] - flushTimes[i - 1], 'flushes a window apart').toBeGreaterThanOrEqual(window - 1e-9)
        }
        for (const m of movers) expect(seen(watcher).get(m.id)).toEqual({ c: m.clock })
        relay.stop()
        return metrics.timersActive.get().then((g) => expect(g.values[0].value).toBe(0))
      }, 20)
    })
  })
})
