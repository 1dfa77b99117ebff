/**
 * Start-up checks: run the server as `npm start` does (node dist/server/main.js)
 * with exactly `env` (plus PATH), and kill it as soon as it listens. What it
 * printed and how it ended (a refusal exits by itself) is the result.
 */
import { spawn } from 'node:child_process'

export interface StartRun { code: number | null, stdout: string, stderr: string }

export function startOnce (env: Record<string, string>, timeoutMs = 15_000): Promise<StartRun> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['dist/server/main.js'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
      if (stdout.includes('quire listening')) proc.kill('SIGKILL')
    })
    proc.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    // A server that neither listens nor exits is killed: code null, which every caller's checks reject.
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
    proc.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
