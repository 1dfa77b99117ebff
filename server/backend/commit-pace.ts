/**
 * Group commit's pace, shared by the embedded store (embedded/group-commit.ts)
 * and the Redis store (redis/append-batch.ts): a commit starts on the next
 * turn of the event loop, but not before `intervalMs` after the last one
 * started, so the writes of every document made meanwhile gather into it
 * (DATA_COMMIT_INTERVAL_MS; docs/performance.md).
 */

/** Run `start` once the interval since `lastStartedAt` (performance.now()) has passed, on a later turn either way. */
export function startPaced (lastStartedAt: number, intervalMs: number, start: () => void): void {
  const wait = lastStartedAt + intervalMs - performance.now()
  if (wait > 0) setTimeout(start, wait)
  else setImmediate(start)
}
