/**
 * At most `limit` tasks at once; the others wait their turn in arrival
 * order. For work whose cost is what is in flight together, not what is
 * done in all (the embedded store's reads: docs/performance.md, "Stored
 * bytes until something needs the document").
 */
export class Concurrency {
  private running = 0
  private readonly waiting: Array<() => void> = []

  constructor (private readonly limit: number) {}

  async run<T> (task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.running++
    try {
      return await task()
    } finally {
      // A waiter takes the slot over as it is (running stays the same).
      const next = this.waiting.shift()
      if (next !== undefined) next()
      else this.running--
    }
  }
}
