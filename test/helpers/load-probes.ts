/**
 * What the load tests (storm.test.ts, rolling-restart.test.ts) watch while
 * they run: /healthz answering, a pair of editors' edit latency, a counter
 * of /metrics over time; and the figures drawn from them (percentiles, the
 * peak rate of a counter).
 */
import type { TestClient } from './clients.js'
import { whenDoc } from './clients.js'
import { readMetrics } from './metrics.js'
import { sleep } from './wait.js'

/** A loop that runs until stopped; `stop()` waits for its last round and returns what it gathered. */
export interface Probe<T> { stop (): Promise<T> }

function loop<T> (round: () => Promise<void>, everyMs: number, result: () => T): Probe<T> {
  let running = true
  const done = (async () => {
    while (running) {
      await round()
      // A pause between rounds, not a wait for an event: the probe samples.
      await sleep(everyMs)
    }
  })()
  return {
    async stop () {
      running = false
      await done
      return result()
    },
  }
}

export interface HealthFigures { answers: number, failures: string[], maxMs: number }

/** GET `url` every `everyMs`: how many answered 200, which did not (and why), the slowest answer. */
export function probeHealth (url: string, everyMs = 100, timeoutMs = 5000): Probe<HealthFigures> {
  const figures: HealthFigures = { answers: 0, failures: [], maxMs: 0 }
  return loop(async () => {
    const started = performance.now()
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
      await res.text()
      if (res.status === 200) figures.answers++
      else figures.failures.push(`HTTP ${res.status}`)
    } catch (err) {
      figures.failures.push(String(err))
    }
    figures.maxMs = Math.max(figures.maxMs, performance.now() - started)
  }, everyMs, () => figures)
}

/**
 * Edit latency of a pair of editors: `writer` inserts a marker at the
 * start of the text, and the time until `reader` has it is one sample;
 * then the next, `everyMs` later. Only the writer edits, so the newest
 * marker is always the reader's first word.
 */
export function probeEditLatency (writer: TestClient, reader: TestClient, everyMs = 25, timeoutMs = 10_000): Probe<number[]> {
  const samples: number[] = []
  let k = 0
  return loop(async () => {
    const marker = `p${k++} `
    const started = performance.now()
    writer.text.insert(0, marker)
    await whenDoc(reader.doc, () => reader.text.toString().startsWith(marker), `the reader to get edit ${marker.trim()}`, timeoutMs)
    samples.push(performance.now() - started)
  }, everyMs, () => samples)
}

export interface Sample { at: number, value: number }

/** `metric` of the /metrics at `baseUrl`, sampled every `everyMs` (performance.now() times). */
export function sampleMetric (baseUrl: string, metric: string, everyMs = 200): Probe<Sample[]> {
  const samples: Sample[] = []
  return loop(async () => {
    try {
      const m = await readMetrics(baseUrl)
      samples.push({ at: performance.now(), value: m.get(metric) ?? NaN })
    } catch { /* the instance is gone (killed or drained): nothing to sample */ }
  }, everyMs, () => samples)
}

/** The `p`-th percentile (0–100) of `values`, nearest rank. */
export function percentile (values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]
}

/** The highest increase of a sampled counter over any span of at least `windowMs`, per second of that span. */
export function peakRate (samples: Sample[], windowMs = 1000): number {
  let peak = 0
  for (let i = 0; i < samples.length; i++) {
    const j = samples.findIndex((s) => s.at - samples[i].at >= windowMs)
    if (j === -1) break
    peak = Math.max(peak, (samples[j].value - samples[i].value) * 1000 / (samples[j].at - samples[i].at))
  }
  return peak
}

/**
 * Whether a token bucket of `perSecond` and `burst` could have let the
 * counter grow as sampled: between any two samples it rose by at most
 * `burst + perSecond × elapsed` (plus `slack` for the sampling itself).
 * Returns the worst excess found (≤ 0: within the bucket).
 */
export function bucketExcess (samples: Sample[], perSecond: number, burst: number, slack = 0): number {
  let worst = -Infinity
  for (let i = 0; i < samples.length; i++) {
    for (let j = i + 1; j < samples.length; j++) {
      const allowed = burst + perSecond * (samples[j].at - samples[i].at) / 1000 + slack
      worst = Math.max(worst, samples[j].value - samples[i].value - allowed)
    }
  }
  return worst
}
