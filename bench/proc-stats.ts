/**
 * CPU time and resident memory of a process tree, read from /proc the way
 * `top` does: utime+stime (fields 14–15 of /proc/<pid>/stat, in clock ticks)
 * and VmRSS from /proc/<pid>/status, summed over the process and all its live
 * descendants. Nothing here asks the measured process for anything.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

const CLOCK_TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

export interface TreeSample {
  /** user+system CPU of every process in the tree, microseconds. */
  cpuUs: number
  /** Sum of VmRSS, bytes. */
  rssBytes: number
  pids: number[]
}

function readCpuTicks (pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return null
  }
}

/** A memory line of /proc/<pid>/status (VmRSS: resident now, VmHWM: the highest it has been), bytes; 0 if gone. */
function readStatusBytes (pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(status)
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

const readRssBytes = (pid: number): number => readStatusBytes(pid, 'VmRSS')

/** Sum of the peak RSS (VmHWM) of every process in the trees: the most each has held since it started. */
export function peakRssBytes (roots: number[]): number {
  let bytes = 0
  for (const root of roots) for (const pid of processTree(root)) bytes += readStatusBytes(pid, 'VmHWM')
  return bytes
}

function childrenOf (pid: number): number[] {
  const kids: number[] = []
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim()
      if (text) for (const c of text.split(' ')) kids.push(Number(c))
    }
  } catch {
    // Process gone, or a kernel without the children file: nothing to add.
  }
  return kids
}

/** The process and all its descendants that are alive now. */
export function processTree (root: number): number[] {
  const seen: number[] = []
  const stack = [root]
  while (stack.length > 0) {
    const pid = stack.pop()!
    if (seen.includes(pid)) continue
    seen.push(pid)
    stack.push(...childrenOf(pid))
  }
  return seen
}

/** One reading over several trees (for example two instances and their Redis). */
export function sampleTrees (roots: number[]): TreeSample {
  let ticks = 0
  let rssBytes = 0
  const pids: number[] = []
  for (const root of roots) {
    for (const pid of processTree(root)) {
      const t = readCpuTicks(pid)
      if (t === null) continue
      ticks += t
      rssBytes += readRssBytes(pid)
      pids.push(pid)
    }
  }
  return { cpuUs: ticks * 1e6 / CLOCK_TICKS, rssBytes, pids }
}

/** CPU of this process (the load generator), microseconds. */
export function selfCpuUs (): number {
  const u = process.cpuUsage()
  return u.user + u.system
}
