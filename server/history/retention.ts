/**
 * The retention policy of version history (docs/history.md, "Retention"):
 * which versions of one document to forget. Pure: given the versions and
 * the time, it names the ones to delete, so every instance that runs it
 * at once deletes the same ones.
 *
 * Tiers by age: every version younger than `keepAllMs`; then the newest of
 * each hour until `hourlyMs`; the newest of each day until `dailyMs`; the
 * newest of each week after that. Labelled versions are kept whatever their
 * age. Beyond `maxVersions`, the oldest go first (unlabelled ones before
 * labelled ones).
 */
import type { VersionInfo } from '../backend/store.js'

export interface RetentionPolicy {
  keepAllMs: number
  hourlyMs: number
  dailyMs: number
  maxVersions: number
}

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
const WEEK_MS = 7 * DAY_MS

/** The ids of the versions to delete. */
export function versionsToDrop (versions: readonly VersionInfo[], now: number, policy: RetentionPolicy): string[] {
  const newestFirst = [...versions].sort((a, b) => a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
  const kept: VersionInfo[] = []
  const drop: string[] = []
  const seen = new Set<string>()
  for (const v of newestFirst) {
    const age = now - v.at
    const bucket = age < policy.keepAllMs ? null : `${bucketOf(age, policy)}:${Math.floor(v.at / bucketOf(age, policy))}`
    // Newest first: the first version met in a bucket is the one it keeps.
    if (bucket === null || v.label !== undefined || !seen.has(bucket)) {
      if (bucket !== null && v.label === undefined) seen.add(bucket)
      kept.push(v)
    } else {
      drop.push(v.id)
    }
  }
  let over = kept.length - policy.maxVersions
  if (over > 0) {
    const oldestFirst = [...kept].reverse()
    for (const labelled of [false, true]) {
      for (const v of oldestFirst) {
        if (over === 0) break
        if ((v.label !== undefined) !== labelled) continue
        drop.push(v.id)
        over--
      }
    }
  }
  return drop
}

/** How wide a bucket is at this age (past the keep-all tier). */
function bucketOf (age: number, policy: RetentionPolicy): number {
  if (age < policy.hourlyMs) return HOUR_MS
  if (age < policy.dailyMs) return DAY_MS
  return WEEK_MS
}
