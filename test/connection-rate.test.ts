/**
 * The pace of new connections (server/transport/connection-rate.ts), on a
 * clock the test sets: token buckets per instance and per address, the
 * turns handed to refused clients, and addresses forgotten once quiet.
 * The same budgets against a real process are in admission.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { ConnectionRate } from '../server/transport/connection-rate.js'
import { MAX_RETRY_AFTER_MS, retryAfterOf, withRetryAfter, reasonWithoutRetryAfter } from '../common/close-codes.js'
import { hintedDelay } from '../common/backoff.js'
import { RetryAfter } from '../client/provider/src/retry-after.js'

const hint = (pace: ReturnType<ConnectionRate['admit']>): number => {
  if (pace.admitted) throw new Error('admitted')
  return pace.retryAfterMs
}

describe('the pace of new connections', () => {
  it('admits a burst, then refuses with turns one sustained interval apart; a client back at its turn is admitted', () => {
    const t0 = 1_000_000
    const rate = new ConnectionRate({ perSecond: 10, burst: 5, perAddressPerSecond: 1000, perAddressBurst: 1000 }, t0)
    for (let i = 0; i < 5; i++) expect(rate.admit(`10.0.0.${i}`, t0)).toEqual({ admitted: true })
    const turns = [0, 1, 2].map((i) => rate.admit(`10.0.1.${i}`, t0))
    for (const t of turns) expect(t).toMatchObject({ admitted: false, limit: 'instance' })
    expect(turns.map(hint)).toEqual([100, 200, 300])
    // The first refused comes back at its turn: a token is there.
    expect(rate.admit('10.0.1.0', t0 + 100)).toEqual({ admitted: true })
  })

  it('an address over its own budget spends nothing of the instance\'s', () => {
    const t0 = 5_000
    const rate = new ConnectionRate({ perSecond: 1, burst: 3, perAddressPerSecond: 2, perAddressBurst: 1 }, t0)
    expect(rate.admit('a', t0)).toEqual({ admitted: true })
    const refused = [1, 2, 3].map(() => rate.admit('a', t0))
    for (const r of refused) expect(r).toMatchObject({ admitted: false, limit: 'address' })
    expect(refused.map(hint)).toEqual([500, 1000, 1500])
    expect(rate.admit('b', t0)).toEqual({ admitted: true })
    expect(rate.admit('c', t0)).toEqual({ admitted: true })
    expect(rate.admit('d', t0)).toMatchObject({ admitted: false, limit: 'instance', retryAfterMs: 1000 })
  })

  it('a flood cannot push turns beyond the longest hint', () => {
    const rate = new ConnectionRate({ perSecond: 1, burst: 1, perAddressPerSecond: 1000, perAddressBurst: 1000 }, 0)
    rate.admit('x', 0)
    let last = 0
    for (let i = 0; i < 500; i++) last = hint(rate.admit(`y${i}`, 0))
    expect(last).toBe(MAX_RETRY_AFTER_MS)
  })

  it('forgets an address once its bucket is full again and no turn is pending', () => {
    const rate = new ConnectionRate({ perSecond: 100, burst: 100, perAddressPerSecond: 1, perAddressBurst: 2 }, 0)
    rate.admit('a', 0)
    rate.admit('a', 0)
    rate.admit('a', 0) // refused: its turn is at 1000
    rate.admit('b', 0)
    expect(rate.trackedAddresses).toBe(2)
    rate.sweep(1500)
    expect(rate.trackedAddresses).toBe(1) // b is full again; a's turn has passed but its bucket is not full
    rate.sweep(5000)
    expect(rate.trackedAddresses).toBe(0)
  })
})

describe('retry-after hints', () => {
  it('are written into and read from a close reason', () => {
    const reason = withRetryAfter('instance busy', 1499.2)
    expect(reason).toBe('instance busy; retry-after=1500')
    expect(retryAfterOf(reason)).toBe(1500)
    expect(reasonWithoutRetryAfter(reason)).toBe('instance busy')
    expect(retryAfterOf('instance busy')).toBeNull()
    expect(retryAfterOf('retry-after=5')).toBeNull()
    expect(retryAfterOf(withRetryAfter('x', 10 * MAX_RETRY_AFTER_MS))).toBe(MAX_RETRY_AFTER_MS)
    // A reason never grows past what a close frame holds (123 bytes).
    expect(new TextEncoder().encode(withRetryAfter('too many new connections from this address', MAX_RETRY_AFTER_MS)).length).toBeLessThanOrEqual(123)
  })

  it('a client waits at least the hint, at most a quarter more, and longer only when its own backoff says so', () => {
    expect(hintedDelay(1000, () => 0)).toBe(1000)
    expect(hintedDelay(1000, () => 0.999)).toBeLessThanOrEqual(1250)
    let now = 10_000
    const r = new RetryAfter(() => now, () => 0.5)
    r.closed('instance busy; retry-after=2000')
    expect(r.waiting).toBe(true)
    expect(r.delay(100)).toBe(2250)
    expect(r.delay(5000)).toBe(5000)
    now += 2250
    expect(r.waiting).toBe(false)
    expect(r.delay(100)).toBe(100)
    r.closed('server restarting')
    expect(r.waiting).toBe(false)
  })
})
