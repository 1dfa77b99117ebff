/**
 * When a document's presence goes out: the adaptive coalescing window of the
 * presence relay (docs/architecture.md, "Presence").
 *
 * Leading edge. A change that arrives when no flush went out within the
 * last window goes out at once (a zero timer: the messages read in the same
 * event-loop turn ride along, nothing else waits).
 *
 * Window. A change that arrives while changes keep coming (a flush went out
 * less than a window ago) waits for the window's end, merged with every
 * other change meanwhile (per client, its latest state), and one frame per
 * peer carries them all. Nothing waits unless there is something to merge
 * it with.
 *
 * Length. A flush costs one frame per peer, whatever it carries, so the
 * window is what keeps a busy room's presence to a share of the event loop:
 * the flush's CPU time (smoothed) divided by PRESENCE_LOOP_SHARE, up to
 * MAX_WINDOW_MS. A small room's flush costs microseconds, so its window is a
 * fraction of a millisecond; a big room's grows with its connections and
 * with how slow the machine is at that moment (docs/performance.md
 * has the figures).
 */

/** The share of one core the flushes of one busy document may take. */
export const PRESENCE_LOOP_SHARE = 0.1
/** The longest a change waits behind a flush (a caret this late still looks live). */
export const MAX_WINDOW_MS = 60
/** Weight of the newest flush in the smoothed cost: a few flushes to follow a change in the room. */
const COST_WEIGHT = 0.2

/** CPU time of this process in ms (user and system: writing to sockets is mostly system time). */
export function processCpuMs (): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

export class PresencePace {
  /** When the last flush went out (performance.now()). */
  private lastFlush = -Infinity
  /** Smoothed CPU ms of one flush; null before the first. */
  private cost: number | null = null

  /** The window now: the smoothed cost of a flush over the share it may take, capped. */
  get windowMs (): number {
    return this.cost === null ? 0 : Math.min(MAX_WINDOW_MS, this.cost / PRESENCE_LOOP_SHARE)
  }

  /** How long a change arriving at `now` waits: 0 after a quiet window, else until the window's end. */
  delay (now: number): number {
    return Math.max(0, this.lastFlush + this.windowMs - now)
  }

  /** A flush went out at `now` and took `cpuMs` of CPU time. */
  flushed (now: number, cpuMs: number): void {
    this.lastFlush = now
    const cost = Math.max(0, cpuMs)
    this.cost = this.cost === null ? cost : this.cost + (cost - this.cost) * COST_WEIGHT
  }
}
