/**
 * CPU over a measurement window: the server's process trees, the load
 * generator (this process), and the whole machine, so the report can say how
 * much of the machine something else (other people's tests) was using.
 */
import { readFileSync } from 'node:fs'
import { sampleTrees, selfCpuUs } from './proc-stats.js'

export interface WindowCpu {
  seconds: number
  /** Server CPU, microseconds, over the window (for a Redis setup: the instances and Redis). */
  serverUs: number
  /** Of that, Redis's own (0 without Redis). */
  redisUs: number
  /** Cores each party kept busy on average. */
  serverCores: number
  loadgenCores: number
  /** Machine busy cores not accounted for by the server or the load generator. */
  foreignCores: number
}

function machineBusyUs (): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal
  const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0)
  return busy * 1e6 / 100
}

export class Meter {
  private readonly t0 = performance.now()
  private readonly server0: number
  private readonly self0 = selfCpuUs()
  private readonly machine0 = machineBusyUs()
  private readonly redis0: number

  /** `redisPids`: the part of `pids` that is Redis, read separately as well. */
  constructor (private readonly pids: () => number[], private readonly redisPids: () => number[] = () => []) {
    this.server0 = sampleTrees(pids()).cpuUs
    this.redis0 = sampleTrees(redisPids()).cpuUs
  }

  read (): WindowCpu {
    const seconds = (performance.now() - this.t0) / 1000
    const serverUs = sampleTrees(this.pids()).cpuUs - this.server0
    const redisUs = sampleTrees(this.redisPids()).cpuUs - this.redis0
    const loadgenUs = selfCpuUs() - this.self0
    const machineUs = machineBusyUs() - this.machine0
    const perSecond = (us: number): number => us / 1e6 / seconds
    return {
      seconds,
      serverUs,
      redisUs,
      serverCores: perSecond(serverUs),
      loadgenCores: perSecond(loadgenUs),
      foreignCores: Math.max(0, perSecond(machineUs - serverUs - loadgenUs)),
    }
  }
}

/** Wait until the server uses less than `cores` of CPU (what it still had to do is done), at most `maxMs`. */
export async function waitQuiet (pids: () => number[], maxMs = 5000, cores = 0.05): Promise<void> {
  const deadline = Date.now() + maxMs
  while (Date.now() < deadline) {
    const m = new Meter(pids)
    await new Promise((r) => setTimeout(r, 250))
    if (m.read().serverCores < cores) return
  }
}

/** Wait until work outside this process uses less than `cores` (measured over 0.5 s), at most `maxMs`. */
export async function machineQuiet (maxMs: number, cores = 0.3): Promise<void> {
  const deadline = Date.now() + maxMs
  while (Date.now() < deadline) {
    const m = new Meter(() => [])
    await new Promise((r) => setTimeout(r, 500))
    if (m.read().foreignCores < cores) return
  }
}
