/** Growable sample buffers and the order statistics the report uses. */

export class Samples {
  private data = new Float64Array(1024)
  length = 0

  push (value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2)
      bigger.set(this.data)
      this.data = bigger
    }
    this.data[this.length++] = value
  }

  /** Sorted copy of the samples. */
  sorted (): Float64Array {
    return this.data.slice(0, this.length).sort()
  }
}

/** Nearest-rank percentile of sorted values (p in 0..100); NaN when empty. */
export function percentile (sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))
  return sorted[rank]
}

export function median (values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (finite.length === 0) return NaN
  const mid = finite.length >> 1
  return finite.length % 2 === 1 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2
}

/** (max − min) / median: how much repeats of one figure disagree. */
export function spread (values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v))
  if (finite.length < 2) return 0
  const m = median(finite)
  if (m === 0) return 0
  return (Math.max(...finite) - Math.min(...finite)) / Math.abs(m)
}
