/**
 * What a server process holds, read from /proc (Linux): resident memory and
 * open file descriptors (every socket is one), for tests that attack it.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** Resident set size of `pid`, in bytes. */
export function rssBytes (pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!match) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1]) * 1024
}

/** Open file descriptors of `pid`. */
export function openFds (pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/** Samples `pid`'s RSS every `everyMs` until `stop()`, which returns the highest seen. */
export function watchRss (pid: number, everyMs = 20): { stop: () => number } {
  let peak = rssBytes(pid)
  const timer = setInterval(() => { peak = Math.max(peak, rssBytes(pid)) }, everyMs)
  return {
    stop: () => {
      clearInterval(timer)
      return Math.max(peak, rssBytes(pid))
    },
  }
}

export const MiB = 1024 * 1024
