/**
 * Child processes of the tests and the bench: every server, instance and
 * redis-server runs in its own process, its output kept line by line (for
 * waiting on a log line and for error messages), and it is killed when this
 * process exits for whatever reason (normal end, error, Ctrl-C, a test
 * worker torn down, the bench's budget exceeded).
 */
import { spawn, type ChildProcess } from 'node:child_process'

export interface Child {
  label: string
  proc: ChildProcess
  pid: number
  /** Output lines (stdout and stderr, blank ones skipped), the last `keepLines` of them. */
  output: string[]
  /** Resolves with the exit code; null when a signal ended it. */
  exited: Promise<number | null>
  isRunning (): boolean
  /**
   * Resolves with the first line kept or still to come that contains `text`;
   * rejects when the process exits first or after `timeoutMs`.
   */
  waitForLine (text: string, timeoutMs?: number): Promise<string>
}

export interface SpawnOptions {
  /** Added to PATH and HOME; nothing else of this process's environment is passed on. */
  env?: Record<string, string>
  cwd?: string
  /** How many output lines to keep (default 40; Infinity keeps the whole log). */
  keepLines?: number
}

export const DEFAULT_WAIT_MS = 20_000

const live = new Set<Child>()

function killAll (): void {
  for (const c of live) {
    try { c.proc.kill('SIGKILL') } catch { /* already gone */ }
  }
  live.clear()
}

process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killAll()
    process.exit(130)
  })
}

interface LineWaiter {
  text: string
  resolve: (line: string) => void
  /** The process ended without printing it. */
  gone: () => void
}

export function spawnChild (label: string, command: string, args: string[], opts: SpawnOptions = {}): Child {
  const proc = spawn(command, args, {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (proc.pid === undefined) throw new Error(`${label}: could not start ${command}`)
  const keepLines = opts.keepLines ?? 40
  const output: string[] = []
  const waiters = new Set<LineWaiter>()
  const addLine = (line: string): void => {
    if (line.trim() === '') return
    output.push(line)
    if (output.length > keepLines) output.shift()
    for (const w of waiters) {
      if (line.includes(w.text)) w.resolve(line)
    }
  }
  for (const stream of [proc.stdout!, proc.stderr!]) {
    let partial = ''
    stream.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n')
      partial = lines.pop()!
      for (const line of lines) addLine(line)
    })
    stream.on('end', () => { addLine(partial); partial = '' })
  }
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  // 'close' comes after the last output: a line printed just before exiting still counts.
  let closed = false
  proc.once('close', () => {
    closed = true
    for (const w of waiters) w.gone()
  })
  const child: Child = {
    label,
    proc,
    pid: proc.pid,
    output,
    exited,
    isRunning: () => proc.exitCode === null && proc.signalCode === null,
    waitForLine (text, timeoutMs = DEFAULT_WAIT_MS) {
      const found = output.find((l) => l.includes(text))
      if (found !== undefined) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const settle = (): void => {
          waiters.delete(waiter)
          clearTimeout(timer)
        }
        const fail = (why: string): void => {
          settle()
          reject(new Error(`${label} ${why} before printing "${text}"; its last output:\n${output.slice(-20).join('\n')}`))
        }
        const waiter: LineWaiter = {
          text,
          resolve: (line) => { settle(); resolve(line) },
          gone: () => fail(`exited (${proc.signalCode ?? proc.exitCode})`),
        }
        const timer = setTimeout(() => fail(`did not print it within ${timeoutMs} ms`), timeoutMs)
        timer.unref()
        if (closed) waiter.gone()
        else waiters.add(waiter)
      })
    },
  }
  live.add(child)
  void exited.then(() => live.delete(child))
  return child
}

/** Send `signal` (SIGKILL unless told otherwise) and resolve with the exit code. */
/** Send `signal` and resolve with the exit code; rejects, naming the child, if it has not exited within `timeoutMs`. */
export async function killChild (child: Child, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = DEFAULT_WAIT_MS): Promise<number | null> {
  if (child.isRunning()) child.proc.kill(signal)
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${child.label} to exit after ${signal}`)), timeoutMs)
  })
  try {
    return await Promise.race([child.exited, late])
  } finally {
    clearTimeout(timer)
  }
}

/** SIGTERM (so servers can persist), then SIGKILL after `graceMs`. */
export async function stopChild (child: Child, graceMs = 5000): Promise<void> {
  if (!child.isRunning()) return
  child.proc.kill('SIGTERM')
  const timer = setTimeout(() => { if (child.isRunning()) child.proc.kill('SIGKILL') }, graceMs)
  await child.exited
  clearTimeout(timer)
}

/** The line of a dead process's output that says what went wrong (not its stack frames). */
export function errorLine (output: string[]): string {
  const line = output.find((l) => /^\s*\w*Error: /.test(l)) ??
    output.find((l) => /error/i.test(l) && !/^\s+at /.test(l)) ?? output.find((l) => !/^\s+at /.test(l)) ?? 'no output'
  return line.trim()
}
