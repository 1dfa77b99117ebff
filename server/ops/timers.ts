/**
 * A one-shot timer that keeps the quire_timers_active gauge honest: counted
 * when armed, uncounted when it fires or is cleared, whoever holds it. The
 * gauge is what shows a leak, so it must not depend on the holder still
 * being listed anywhere.
 */
import type { Gauge } from 'prom-client'

export class TrackedTimer {
  private handle: NodeJS.Timeout | null

  constructor (private readonly gauge: Gauge, fn: () => void, ms: number) {
    gauge.inc()
    this.handle = setTimeout(() => {
      this.handle = null
      gauge.dec()
      fn()
    }, ms)
  }

  clear (): void {
    if (this.handle === null) return
    clearTimeout(this.handle)
    this.handle = null
    this.gauge.dec()
  }
}
