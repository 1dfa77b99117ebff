/**
 * server/ops/concurrency.ts: at most `limit` tasks at once, the rest in
 * arrival order, a failing task freeing its slot like any other.
 */
import { describe, expect, it } from 'vitest'
import { Concurrency } from '../server/ops/concurrency.js'

function deferred (): { promise: Promise<void>, resolve: () => void, reject: (err: Error) => void } {
  let resolve!: () => void
  let reject!: (err: Error) => void
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('concurrency', () => {
  it('runs at most `limit` tasks at once, the others in arrival order as slots free up, failures included', async () => {
    const limit = new Concurrency(2)
    const gates = Array.from({ length: 5 }, deferred)
    const started: number[] = []
    let inFlight = 0
    let most = 0
    const results = gates.map((gate, i) => limit.run(async () => {
      started.push(i)
      most = Math.max(most, ++inFlight)
      try {
        await gate.promise
        return i
      } finally {
        inFlight--
      }
    }))
    await settle()
    expect(started).toEqual([0, 1])
    gates[1].reject(new Error('read failed'))
    await expect(results[1]).rejects.toThrow('read failed')
    await settle()
    expect(started).toEqual([0, 1, 2])
    gates[0].resolve()
    gates[2].resolve()
    await settle()
    expect(started).toEqual([0, 1, 2, 3, 4])
    gates[3].resolve()
    gates[4].resolve()
    expect(await Promise.all([results[0], results[2], results[3], results[4]])).toEqual([0, 2, 3, 4])
    expect(most).toBe(2)
    // Every slot was given back: two run at once again.
    const again = [deferred(), deferred()]
    let both = 0
    const runs = again.map((gate) => limit.run(async () => { both++; await gate.promise }))
    await settle()
    expect(both).toBe(2)
    for (const gate of again) gate.resolve()
    await Promise.all(runs)
  })
})
