/**
 * docs/metrics.md describes every metric Quire exports: each name a running
 * instance lists in /metrics (the Redis backend's included) must appear in it,
 * so a new metric cannot ship undocumented.
 */
import { readFileSync } from 'node:fs'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryStore } from '../server/backend/memory-store.js'
import { registerRedisMetrics } from '../server/backend/redis/metrics.js'
import { startInProcess, type InProcessQuire } from './helpers/in-process.js'

const doc = readFileSync('docs/metrics.md', 'utf8')

/** Metric names from the `# TYPE` lines of a Prometheus text exposition. */
const names = (exposition: string): string[] =>
  exposition.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2])

const undocumented = (list: string[]): string[] => list.filter((name) => !doc.includes('`' + name + '`'))

describe('docs/metrics.md', () => {
  let q: InProcessQuire

  beforeAll(async () => { q = await startInProcess(new MemoryStore()) })
  afterAll(async () => { await q?.quire.drain() })

  it('names every metric of a running instance', async () => {
    const listed = names(await (await fetch(`${q.url}/metrics`)).text())
    expect(listed.length).toBeGreaterThan(30)
    expect(undocumented(listed)).toEqual([])
  })

  it('names every metric of the Redis backend', async () => {
    const registry = new Registry()
    registerRedisMetrics(registry, { pubsubMessages: 0, catchUpReads: 0 }, () => true)
    const listed = names(await registry.metrics())
    expect(listed.length).toBeGreaterThan(0)
    expect(undocumented(listed)).toEqual([])
  })
})
