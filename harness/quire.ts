/**
 * Quire as `npm start` runs it: `node <the start script's node flags>
 * dist/server/main.js`, in its own process on 127.0.0.1. `quireCommand` is
 * that command line (the bench adds its own flags and runs it as an
 * instance); `startQuire` starts it on a free port and waits for its
 * "quire listening" log line, so tests can kill -9 it, read its logs and
 * restart it on the same port and data.
 */
import { readFileSync } from 'node:fs'
import type { ChildProcess } from 'node:child_process'
import { fromRoot, repoRoot, tempDir } from './paths.js'
import { freePort } from './ports.js'
import { killChild, spawnChild, type Child } from './processes.js'

/**
 * Node flags that `npm start` gives Quire (package.json scripts.start:
 * `node <flags> dist/server/main.js`), so Quire runs here exactly as it is
 * started in production.
 */
export function startScriptNodeArgs (): string[] {
  const pkg = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { scripts?: Record<string, string> }
  const m = /\bnode((?:\s+--\S+)*)\s+dist\/server\/main\.js/.exec(pkg.scripts?.start ?? '')
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : []
}

/** The command that starts Quire; `nodeArgs` go after the start script's flags. */
export function quireCommand (nodeArgs: string[] = []): { command: string, args: string[], cwd: string } {
  return { command: process.execPath, args: [...startScriptNodeArgs(), ...nodeArgs, fromRoot('dist', 'server', 'main.js')], cwd: repoRoot }
}

/** The log line Quire prints once it accepts connections (at LOG_LEVEL info). */
const LISTENING = '"quire listening"'

export interface QuireProcess {
  port: number
  /** http://127.0.0.1:port */
  url: string
  /** ws://127.0.0.1:port */
  wsUrl: string
  env: Record<string, string>
  child: Child
  proc: ChildProcess
  /** Every line it printed so far. */
  logs: string[]
  /** Resolves with the first log line (past or future) containing `text`; rejects after `timeoutMs` or when it exits. */
  waitForLog (text: string, timeoutMs?: number): Promise<string>
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>
  /** SIGKILL unless told otherwise; resolves with the exit code. */
  /** Send `signal` (SIGKILL by default); resolves with the exit code, rejects if it has not exited within `timeoutMs`. */
  kill (signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>
  /** Start again with the same environment (and port, and data dir). */
  restart (): Promise<QuireProcess>
}

/**
 * Start Quire with `env` over the defaults: 127.0.0.1, LOG_LEVEL info, a
 * fresh DATA_DIR unless Redis is the backend, a free PORT unless given.
 */
export async function startQuire (env: Record<string, string> = {}): Promise<QuireProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort()
  const fullEnv: Record<string, string> = {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATA_DIR: env.REDIS_URL || env.REDIS_CLUSTER_NODES ? '' : tempDir('data'),
    ...env,
    PORT: String(port),
  }
  if (fullEnv.DATA_DIR === '') delete fullEnv.DATA_DIR
  const { command, args, cwd } = quireCommand()
  const child = spawnChild(`quire :${port}`, command, args, { env: fullEnv, cwd, keepLines: Infinity })
  // A process that never listens is not left behind.
  await child.waitForLine(LISTENING).catch(async (err: unknown) => {
    await killChild(child).catch(() => {})
    throw err
  })
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    env: fullEnv,
    child,
    proc: child.proc,
    logs: child.output,
    waitForLog: (text, timeoutMs) => child.waitForLine(text, timeoutMs),
    exited: child.exited,
    kill: (signal, timeoutMs) => killChild(child, signal, timeoutMs),
    restart: () => startQuire(fullEnv),
  }
}
