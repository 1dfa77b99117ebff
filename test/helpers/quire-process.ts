/**
 * Runs Quire the way `npm start` does (node dist/server/main.js) in its own
 * process, on 127.0.0.1 and a free port, so tests can kill -9 and restart it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'
import { DEADLINE_MS, within } from './wait.js'

export interface QuireProcess {
  port: number
  url: string
  /** ws://127.0.0.1:port */
  wsUrl: string
  env: Record<string, string>
  proc: ChildProcess
  logs: string[]
  /** Resolves with the first log line (past or future) containing `text`. */
  waitForLog (text: string, timeoutMs?: number): Promise<string>
  /** Resolves with the exit code. */
  exited: Promise<number | null>
  kill (signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>
  /** Start again with the same environment (and port, and data dir). */
  restart (): Promise<QuireProcess>
}

export async function startQuire (env: Record<string, string> = {}): Promise<QuireProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort()
  const fullEnv: Record<string, string> = {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATA_DIR: env.REDIS_URL || env.REDIS_CLUSTER_NODES ? '' : mkdtempSync(join(tmpdir(), 'quire-data-')),
    ...env,
    PORT: String(port),
  }
  if (fullEnv.DATA_DIR === '') delete fullEnv.DATA_DIR
  const proc = spawn(process.execPath, ['dist/server/main.js'], {
    env: { PATH: process.env.PATH ?? '', ...fullEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: string[] = []
  const logWaiters: Array<{ text: string, resolve: (line: string) => void }> = []
  const addLog = (line: string): void => {
    logs.push(line)
    for (const w of [...logWaiters]) {
      if (!line.includes(w.text)) continue
      logWaiters.splice(logWaiters.indexOf(w), 1)
      w.resolve(line)
    }
  }
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  await within(new Promise<void>((resolve, reject) => {
    let buf = ''
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString()
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        addLog(line)
        if (line.includes('"quire listening"')) resolve()
      }
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', (c: Buffer) => addLog(c.toString()))
    void exited.then((code) => reject(new Error(`quire exited with ${code} before listening:\n${logs.join('\n')}`)))
  }), DEADLINE_MS, `quire on port ${port} to listen`).catch((err: unknown) => { proc.kill('SIGKILL'); throw err })
  const q: QuireProcess = {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    env: fullEnv,
    proc,
    logs,
    waitForLog: (text, timeoutMs = DEADLINE_MS) => {
      const found = logs.find((l) => l.includes(text))
      return found !== undefined ? Promise.resolve(found) : within(new Promise((resolve) => logWaiters.push({ text, resolve })), timeoutMs, `a log line containing ${JSON.stringify(text)}`)
    },
    exited,
    async kill (signal = 'SIGKILL', timeoutMs = DEADLINE_MS) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      return within(exited, timeoutMs, `quire on port ${port} to exit after ${signal}`)
    },
    restart: () => startQuire(fullEnv),
  }
  return q
}
