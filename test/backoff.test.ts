/**
 * Retrying with backoff: the delay policy (common/backoff.ts), the server's
 * scheduler on counted timers (server/ops/backoff.ts), and the Redis feed
 * that retries its catch-up reads with it. Fake timers: these are about
 * which delay is waited and what is counted meanwhile, not about the clock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Gauge } from 'prom-client'
import { backoffDelay, type BackoffOptions } from '../common/backoff.js'
import { Backoff, STORE_RETRY } from '../server/ops/backoff.js'
import { DocFeed, type LogRange } from '../server/backend/redis/feed.js'
import { createLogger } from '../server/ops/log.js'

const gauge = (): Gauge => new Gauge({ name: 'quire_timers_active', help: 'test', registers: [] })
const active = async (g: Gauge): Promise<number> => (await g.get()).values[0]?.value ?? 0

describe('backoffDelay', () => {
  const opts = { baseMs: 100, maxMs: 2_000 }

  it('without jitter is the doubling bound, capped', () => {
    const none: BackoffOptions = { ...opts, jitter: 'none' }
    expect([0, 1, 2, 3, 4, 5, 50].map((n) => backoffDelay(n, none))).toEqual([100, 200, 400, 800, 1600, 2000, 2000])
  })

  it('spread is within ±25 % of the bound', () => {
    const spread: BackoffOptions = { ...opts, jitter: 'spread' }
    expect(backoffDelay(0, spread, () => 0)).toBe(75)
    expect(backoffDelay(0, spread, () => 0.999)).toBe(124)
    expect(backoffDelay(9, spread, () => 0)).toBe(1500)
    expect(backoffDelay(9, spread, () => 0.999)).toBe(2499)
  })

  it('full jitter stays the default (the browser provider relies on it)', () => {
    expect(backoffDelay(3, opts, () => 0.5)).toBe(400)
    expect(backoffDelay(3, { ...opts, jitter: 'full' }, () => 0.5)).toBe(400)
  })
})

describe('Backoff', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('waits the current delay, counting its timer in the gauge until it fires', async () => {
    const g = gauge()
    const b = new Backoff(g, STORE_RETRY)
    let ran = 0
    expect(b.schedule(() => { ran++ })).toBe(250)
    expect(b.pending).toBe(true)
    expect(await active(g)).toBe(1)
    vi.advanceTimersByTime(249)
    expect(ran).toBe(0)
    vi.advanceTimersByTime(1)
    expect(ran).toBe(1)
    expect(b.pending).toBe(false)
    expect(await active(g)).toBe(0)
  })

  it('doubles on every attempt up to the maximum, and says the next delay before it is used', () => {
    const b = new Backoff(gauge(), STORE_RETRY)
    const waited: number[] = []
    for (let i = 0; i < 8; i++) {
      const announced = b.delayMs
      waited.push(b.schedule(() => {}))
      expect(waited[i]).toBe(announced)
      vi.runAllTimers()
    }
    expect(waited).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000])
    expect(b.attempts).toBe(8)
  })

  it('reset goes back to the minimum', () => {
    const b = new Backoff(gauge(), STORE_RETRY)
    for (let i = 0; i < 4; i++) {
      b.schedule(() => {})
      vi.runAllTimers()
    }
    expect(b.delayMs).toBe(4000)
    b.reset()
    expect(b.delayMs).toBe(250)
    expect(b.attempts).toBe(0)
  })

  it('cancel drops the pending attempt and uncounts its timer', async () => {
    const g = gauge()
    const b = new Backoff(g, STORE_RETRY)
    let ran = false
    b.schedule(() => { ran = true })
    b.cancel()
    expect(b.pending).toBe(false)
    expect(await active(g)).toBe(0)
    vi.advanceTimersByTime(10_000)
    expect(ran).toBe(false)
    b.cancel() // twice is harmless
    expect(await active(g)).toBe(0)
  })

  it('keeps one attempt at a time: scheduling again replaces the pending one', async () => {
    const g = gauge()
    const b = new Backoff(g, STORE_RETRY)
    const ran: string[] = []
    b.schedule(() => ran.push('first'))
    b.schedule(() => ran.push('second'))
    expect(await active(g)).toBe(1)
    vi.runAllTimers()
    expect(ran).toEqual(['second'])
    expect(await active(g)).toBe(0)
  })

  it('draws jittered delays from the policy', () => {
    const b = new Backoff(gauge(), { baseMs: 100, maxMs: 1000 }, () => 0.5)
    expect([b.schedule(() => {}), b.schedule(() => {}), b.schedule(() => {})]).toEqual([50, 100, 200])
    b.cancel()
  })
})

describe('the Redis feed retries a failed catch-up read with backoff', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('on a counted timer, doubling, until a read succeeds; close cancels it', async () => {
    const g = gauge()
    const reads: number[] = []
    let failures = 3
    const readLog = async (): Promise<LogRange> => {
      reads.push(Date.now())
      if (failures-- > 0) throw new Error('redis unreachable')
      return { seq: 2, updates: [] }
    }
    const sink = { onRemoteUpdates: () => {}, onRemoteAwareness: () => {} }
    const feed = new DocFeed('doc', 0, sink, readLog, 'self', createLogger('silent'), g)
    const start = Date.now()
    await expect(feed.catchUp()).rejects.toThrow('redis unreachable')
    expect(await active(g)).toBe(1)
    await vi.advanceTimersByTimeAsync(250 + 500 + 1000)
    expect(reads.map((t) => t - start)).toEqual([0, 250, 750, 1750])
    expect(feed.applied).toBe(2)
    expect(await active(g)).toBe(0)

    // A new outage starts again from the minimum; closing drops the pending retry.
    failures = 2
    const again = Date.now()
    await expect(feed.catchUp()).rejects.toThrow('redis unreachable')
    await vi.advanceTimersByTimeAsync(250)
    expect(reads.slice(4).map((t) => t - again)).toEqual([0, 250])
    expect(await active(g)).toBe(1)
    feed.close()
    expect(await active(g)).toBe(0)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(reads).toHaveLength(6)
  })
})
