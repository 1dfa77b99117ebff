/**
 * Child processes of the bench: every server, instance and redis-server runs
 * in its own process, listens on 127.0.0.1, and is killed when the bench
 * exits for whatever reason (normal end, error, Ctrl-C, budget exceeded).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createConnection, createServer } from 'node:net'

export interface Child {
  label: string
  proc: ChildProcess
  pid: number
  /** Last lines of output, for error messages. */
  output: string[]
  exited: Promise<number | null>
  isRunning (): boolean
}

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

export function spawnChild (label: string, command: string, args: string[], env: Record<string, string>, cwd?: string): Child {
  const proc = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const keep = (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue
      output.push(line)
      if (output.length > 40) output.shift()
    }
  }
  proc.stdout!.on('data', keep)
  proc.stderr!.on('data', keep)
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))))
  if (proc.pid === undefined) throw new Error(`${label}: could not start ${command}`)
  const child: Child = {
    label,
    proc,
    pid: proc.pid,
    output,
    exited,
    isRunning: () => proc.exitCode === null && proc.signalCode === null,
  }
  live.add(child)
  void exited.then(() => live.delete(child))
  return child
}

/** SIGTERM (so servers can persist), then SIGKILL after `graceMs`. */
export async function stopChild (child: Child, graceMs = 5000): Promise<void> {
  if (!child.isRunning()) return
  child.proc.kill('SIGTERM')
  const timer = setTimeout(() => { if (child.isRunning()) child.proc.kill('SIGKILL') }, graceMs)
  await child.exited
  clearTimeout(timer)
}

/** A port free on 127.0.0.1 right now. */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      const port = typeof address === 'object' && address ? address.port : 0
      srv.close(() => resolve(port))
    })
  })
}

function canConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/** Resolves once `port` accepts connections; rejects if the child exits or time runs out. */
export async function waitForPort (child: Child, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!child.isRunning()) {
      await child.exited
      throw new Error(`${child.label} exited before listening: ${errorLine(child.output)}`)
    }
    if (await canConnect(port)) return
    await sleep(50)
  }
  throw new Error(`${child.label} did not listen on ${port} within ${timeoutMs} ms`)
}

/** The line of a dead process's output that says what went wrong (not its stack frames). */
function errorLine (output: string[]): string {
  const line = output.find((l) => /^\s*\w*Error: /.test(l)) ??
    output.find((l) => /error/i.test(l) && !/^\s+at /.test(l)) ?? output.find((l) => !/^\s+at /.test(l)) ?? 'no output'
  return line.trim()
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
