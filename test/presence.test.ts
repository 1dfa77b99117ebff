/** Presence (server/document/presence.ts): y-protocols' clock rules, removals on close, and reappearing after a reconnect. */
import { describe, expect, it } from 'vitest'
import { Presence, OUTDATED_MS } from '../server/document/presence.js'
import { AwarenessEntryBytes, decodeAwarenessUpdate, encodeAwarenessUpdate, type AwarenessEntry } from '../common/awareness.js'

const update = (...entries: Array<[number, number, unknown]>): Uint8Array =>
  encodeAwarenessUpdate(entries.map(([clientId, clock, state]) => ({ clientId, clock, json: JSON.stringify(state) })))
const flushed = (p: Presence): AwarenessEntry[] => { const f = p.flush(); return f === null ? [] : decodeAwarenessUpdate(f.all) }

describe('Presence', () => {
  it('takes newer clocks, ignores older and equal ones, and takes a removal at an equal clock', () => {
    const p = new Presence()
    expect(p.apply(update([1, 3, { a: 1 }]), false)).toEqual([1])
    expect(p.apply(update([1, 2, { a: 0 }]), false)).toEqual([])
    expect(p.apply(update([1, 3, { a: 2 }]), false)).toEqual([])
    expect(p.apply(update([1, 3, null]), false)).toEqual([1])
    expect(flushed(p)).toEqual([{ clientId: 1, clock: 3, json: 'null' }])
    expect(p.snapshot()).toBeNull()
  })

  it('coalesces changes between flushes, and tells other instances only about local clients', () => {
    const p = new Presence()
    p.apply(update([1, 1, { v: 1 }]), false)
    p.apply(update([1, 2, { v: 2 }]), false)
    p.apply(update([9, 1, { remote: true }]), true)
    const f = p.flush()!
    expect(decodeAwarenessUpdate(f.all)).toEqual([{ clientId: 1, clock: 2, json: '{"v":2}' }, { clientId: 9, clock: 1, json: '{"remote":true}' }])
    expect(decodeAwarenessUpdate(f.local!)).toEqual([{ clientId: 1, clock: 2, json: '{"v":2}' }])
    expect(p.flush()).toBeNull()
  })

  it('another client\'s late echo of a removal does not remove a client that has reappeared at a shifted clock', () => {
    const p = new Presence()
    p.apply(update([1, 1, { user: 'u' }]), false, 0, new Set())
    p.flush()
    p.remove([1])
    expect(flushed(p)).toEqual([{ clientId: 1, clock: 2, json: 'null' }])
    // The client reconnects and re-announces at clock 1: relayed at 3.
    p.apply(update([1, 1, { user: 'u' }]), false, 0, new Set())
    expect(flushed(p)).toEqual([{ clientId: 1, clock: 3, json: '{"user":"u"}' }])
    // Only now does another client's echo of the removal (clock 2) arrive: stale.
    expect(p.apply(update([1, 2, null]), false, 0, new Set([2]))).toEqual([])
    expect(p.flush()).toBeNull()
    // The client's own removal still counts.
    expect(p.apply(update([1, 2, null]), false, 0, new Set([1]))).toEqual([1])
  })

  it('the states of a closed connection are removed one tick later, and its client reappears at its old clock', () => {
    const p = new Presence()
    p.apply(update([1, 5, { user: 'u' }]), false)
    p.flush()
    expect(p.remove([1])).toBe(true)
    expect(flushed(p)).toEqual([{ clientId: 1, clock: 6, json: 'null' }])
    // Reconnected: the stock client re-announces at clock 5; everyone saw 6.
    expect(p.apply(update([1, 5, { user: 'u' }]), false)).toEqual([1])
    const f = p.flush()!
    expect(decodeAwarenessUpdate(f.all)).toEqual([{ clientId: 1, clock: 7, json: '{"user":"u"}' }])
    // (The relay never sends it back to its own client, which would adopt clock 7: test/document/presence-relay.test.ts.)
    expect(f.entries).toEqual([{ clientId: 1, clock: 7, json: '{"user":"u"}' }])
    // Its next change (clock 6) goes out later than 7.
    p.apply(update([1, 6, { user: 'u', typing: true }]), false)
    expect(flushed(p)).toEqual([{ clientId: 1, clock: 8, json: '{"user":"u","typing":true}' }])
    // Another client echoing what it was sent changes nothing.
    expect(p.apply(update([1, 8, { user: 'u', typing: true }]), false)).toEqual([])
    expect(p.flush()).toBeNull()
  })

  it('drops states not renewed within the outdated timeout', () => {
    const p = new Presence()
    p.apply(update([1, 1, {}]), false, 0)
    p.apply(update([2, 1, {}]), false, OUTDATED_MS - 1)
    p.flush()
    expect(p.sweep(OUTDATED_MS)).toBe(true)
    expect(flushed(p)).toEqual([{ clientId: 1, clock: 2, json: 'null' }])
    expect(p.size).toBe(2)
    // The removal marker itself is forgotten after the same time.
    p.sweep(2 * OUTDATED_MS + 1)
    expect(p.size).toBe(1)
  })

  it('an update without some clients\' entries, from the entries encoded once, is the update of the others', () => {
    const entries: AwarenessEntry[] = [1, 2, 300, 70_000].map((clientId, i) => ({ clientId, clock: i * 1000, json: JSON.stringify({ n: 'é'.repeat(i * 50) }) }))
    const bytes = new AwarenessEntryBytes(entries)
    for (const skip of [[], [1], [2, 70_000], [300], [1, 2, 300]]) {
      const set = new Set(skip)
      expect(bytes.without(set)).toEqual(encodeAwarenessUpdate(entries.filter((e) => !set.has(e.clientId))))
    }
    expect(bytes.without(new Set([1, 2, 300, 70_000]))).toBeNull()
  })
})
