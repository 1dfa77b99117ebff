/**
 * The retention policy of version history (server/history/retention.ts,
 * docs/history.md "Retention"), with explicit timestamps: which versions
 * each tier keeps, labelled versions, HISTORY_MAX_VERSIONS; and History.thin
 * applying it to a store on a clock the test sets.
 */
import { describe, expect, it } from 'vitest'
import { versionsToDrop, type RetentionPolicy } from '../server/history/retention.js'
import { History } from '../server/history/history.js'
import { MemoryStore } from '../server/backend/memory-store.js'
import { newVersionId } from '../server/backend/versions.js'
import type { VersionInfo } from '../server/backend/store.js'
import { createMetrics } from '../server/ops/metrics.js'
import { createLogger } from '../server/ops/log.js'
import { ConfigError, loadConfig } from '../server/config.js'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const WEEK = 7 * DAY
const NOW = Date.UTC(2030, 0, 15, 12, 0, 0)
const POLICY: RetentionPolicy = { keepAllMs: 2 * DAY, hourlyMs: 10 * DAY, dailyMs: 60 * DAY, maxVersions: 10_000 }

function version (at: number, label?: string): VersionInfo {
  return { id: newVersionId(at), at, reason: 'auto', users: [], bytes: 10, ...(label === undefined ? {} : { label }) }
}

/** Versions every `stepMs` from `fromAgo` to `toAgo` before NOW (both ages in ms). */
function every (stepMs: number, fromAgo: number, toAgo: number): VersionInfo[] {
  const out: VersionInfo[] = []
  for (let age = fromAgo; age > toAgo; age -= stepMs) out.push(version(NOW - age))
  return out
}

const kept = (all: VersionInfo[], policy = POLICY): VersionInfo[] => {
  const drop = new Set(versionsToDrop(all, NOW, policy))
  return all.filter((v) => !drop.has(v.id))
}

describe('retention tiers', () => {
  it('keeps every version younger than HISTORY_KEEP_ALL_MS', () => {
    const recent = every(MIN, 2 * DAY - MIN, 0)
    expect(recent.length).toBeGreaterThan(2800)
    expect(versionsToDrop(recent, NOW, POLICY)).toEqual([])
  })

  it('then one per hour (the newest of each), then one per day, then one per week', () => {
    const hourlyTier = every(10 * MIN, 10 * DAY - 5 * MIN, 2 * DAY)
    const dailyTier = every(2 * HOUR, 60 * DAY - HOUR, 10 * DAY)
    const weeklyTier = every(DAY, 400 * DAY, 60 * DAY)
    const all = [...hourlyTier, ...dailyTier, ...weeklyTier]
    const left = kept(all)
    const buckets = (vs: VersionInfo[], size: number): Map<number, VersionInfo[]> => {
      const m = new Map<number, VersionInfo[]>()
      for (const v of vs) m.set(Math.floor(v.at / size), [...m.get(Math.floor(v.at / size)) ?? [], v])
      return m
    }
    for (const [tier, size] of [[hourlyTier, HOUR], [dailyTier, DAY], [weeklyTier, WEEK]] as const) {
      const leftHere = left.filter((v) => tier.includes(v))
      const b = buckets(tier, size)
      // Exactly one per bucket, and it is the newest in it.
      expect(leftHere.length).toBe(b.size)
      for (const group of b.values()) {
        const newest = group.reduce((x, y) => (y.at > x.at ? y : x))
        expect(leftHere).toContain(newest)
      }
    }
    expect(left.length).toBeLessThan(all.length / 3)
  })

  it('keeps labelled versions whatever their age', () => {
    const old = [version(NOW - 300 * DAY, 'launch'), version(NOW - 300 * DAY + MIN), version(NOW - 300 * DAY + 2 * MIN, 'signed off')]
    const left = kept(old)
    expect(left.map((v) => v.label)).toEqual(['launch', undefined, 'signed off'])
  })

  it('beyond HISTORY_MAX_VERSIONS the oldest go, unlabelled ones first', () => {
    const all = [version(NOW - 50 * MIN, 'first'), ...every(MIN, 40 * MIN, 0)]
    const left = kept(all, { ...POLICY, maxVersions: 10 })
    expect(left.length).toBe(10)
    expect(left.map((v) => v.label)).toContain('first')
    // The newest nine unlabelled ones stay.
    const newest = [...all].sort((a, b) => b.at - a.at).filter((v) => v.label === undefined).slice(0, 9)
    for (const v of newest) expect(left).toContain(v)
    // Only labelled versions: they go too, oldest first.
    const labelled = [version(NOW - 3 * MIN, 'a'), version(NOW - 2 * MIN, 'b'), version(NOW - MIN, 'c')]
    expect(kept(labelled, { ...POLICY, maxVersions: 2 }).map((v) => v.label)).toEqual(['b', 'c'])
  })
})

describe('History.thin on a store', () => {
  it('deletes what the policy drops, on the clock it is given, and counts it', async () => {
    const store = new MemoryStore()
    const metrics = createMetrics()
    let now = NOW
    const history = new History({ store, metrics, log: createLogger('silent'), retention: POLICY, now: () => now })
    // Six versions an hour apart, three days ago: past keep-all, in the hourly tier.
    for (let i = 0; i < 6; i++) await store.putVersion('doc', { at: NOW - 3 * DAY + i * 10 * MIN, reason: 'auto' }, new Uint8Array([i, 0]))
    await history.thin('doc')
    expect((await store.listVersions('doc')).length).toBe(1)
    expect((await metrics.registry.getSingleMetric('quire_versions_thinned_total')!.get()).values[0].value).toBe(5)
    // A year later the one left is in the weekly tier, alone in its week: kept.
    now += 365 * DAY
    await history.thin('doc')
    expect((await store.listVersions('doc')).length).toBe(1)
  })
})

describe('retention configuration', () => {
  it('defaults: 7 days, 30 days, 365 days, 1000 versions', () => {
    const c = loadConfig({})
    expect([c.HISTORY_KEEP_ALL_MS, c.HISTORY_HOURLY_MS, c.HISTORY_DAILY_MS, c.HISTORY_MAX_VERSIONS]).toEqual([7 * DAY, 30 * DAY, 365 * DAY, 1000])
  })

  it('tiers that do not grow stop the server, naming the variable', () => {
    expect(() => loadConfig({ HISTORY_HOURLY_MS: String(DAY) })).toThrow(new ConfigError('invalid HISTORY_HOURLY_MS: the history tiers must grow: HISTORY_KEEP_ALL_MS <= HISTORY_HOURLY_MS <= HISTORY_DAILY_MS'))
    expect(() => loadConfig({ HISTORY_DAILY_MS: String(DAY), HISTORY_HOURLY_MS: String(7 * DAY) })).toThrow(/^invalid HISTORY_DAILY_MS/)
    expect(loadConfig({ HISTORY_KEEP_ALL_MS: '0', HISTORY_HOURLY_MS: '0', HISTORY_DAILY_MS: '0' }).HISTORY_DAILY_MS).toBe(0)
  })
})
