/**
 * The presence relay (server/document/presence-relay.ts): ownership of
 * awareness client ids, reconnect claims, identity from the token, budgets,
 * and never sending a client states for its own ids. A seeded run mixes
 * honest clients (announcing, renewing, echoing what they receive,
 * leaving, reconnecting) with a forger that claims and removes others' ids.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMetrics } from '../../server/ops/metrics.js'
import { PresenceRelay, DEFAULT_PRESENCE_LIMITS, type PresenceLimits } from '../../server/document/presence-relay.js'
import type { Peer } from '../../server/document/peer.js'
import { decodeAwarenessUpdate, encodeAwarenessUpdate } from '../../common/awareness.js'
import { CLOSE } from '../../common/close-codes.js'
import { FakePeer } from '../helpers/fake-peer.js'
import { readServerFrame } from '../helpers/frames.js'
import { forEachSeed, prng } from '../helpers/seeded.js'

function setup (limits: Partial<PresenceLimits> = {}) {
  const metrics = createMetrics()
  const peers = new Set<Peer>()
  const published: Uint8Array[] = []
  const refusals: string[] = []
  const relay = new PresenceRelay({
    peers,
    limits: { ...DEFAULT_PRESENCE_LIMITS, ...limits },
    timers: metrics.timersActive,
    publish: (u) => published.push(u),
    refused: (limit) => refusals.push(limit),
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
})
