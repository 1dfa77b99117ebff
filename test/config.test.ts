/**
 * Configuration (docs/configuration.md): every variable validated at start; a bad
 * value stops the process with a non-zero exit and ONE line naming it.
 */
import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../server/config.js'
import { DEADLINE_MS, within } from './helpers/wait.js'

interface Run { code: number | null, stdout: string, stderr: string }

/** Start the server as `npm start` does, with only these variables; it is killed if it ever gets to listen. */
async function run (env: Record<string, string>): Promise<Run> {
  const proc = spawn(process.execPath, ['dist/server/main.js'], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', DATA_DIR: mkdtempSync(join(tmpdir(), 'quire-cfg-')), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (c: Buffer) => {
    stdout += c.toString()
    if (stdout.includes('quire listening')) proc.kill('SIGKILL')
  })
  proc.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  try {
    const code = await within(exited, DEADLINE_MS, `quire with ${JSON.stringify(env)} to exit or listen`)
    return { code, stdout, stderr }
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  }
}

const bad: Array<[string, string]> = [
  ['PORT', 'abc'],
  ['PORT', '70000'],
  ['PORT', '-1'],
  ['HOST', '   '],
  ['MAX_MESSAGE_BYTES', '-1'],
  ['MAX_MESSAGE_BYTES', '12.5'],
  ['LOG_LEVEL', 'loud'],
  ['REDIS_URL', 'http://x'],
  ['REDIS_CLUSTER_NODES', 'host-without-port'],
  ['AUTH_SECRET', 'short'],
  ['API_KEY', 'short'],
  ['RATE_LIMIT_PER_SECOND', '0'],
  ['RATE_LIMIT_BURST', 'lots'],
  ['SHUTDOWN_TIMEOUT_MS', '1e3'],
  ['MAX_CONNECTIONS', '0'],
  ['KEEPALIVE_MS', '20000'],
]

describe('a bad value stops the server at start', () => {
  it('with a non-zero exit and one line on stderr naming the variable, for every variable', async () => {
    const runs = await Promise.all(bad.map(([name, value]) => run({ [name]: value })))
    for (const [i, [name, value]] of bad.entries()) {
      const { code, stdout, stderr } = runs[i]
      const what = `${name}=${value}`
      expect(code, what).not.toBe(0)
      expect(code, what).not.toBeNull()
      expect(stdout, what).toBe('')
      const lines = stderr.trimEnd().split('\n')
      expect(lines, what).toHaveLength(1)
      expect(lines[0], what).toContain(name)
    }
  })

  it('never echoes a secret', async () => {
    const { stderr } = await run({ AUTH_SECRET: 'tooshort', API_KEY: 'alsoshort', REDIS_URL: 'http://:hunter2@x' })
    expect(stderr).not.toContain('tooshort')
    expect(stderr).not.toContain('hunter2')
  })

  it('a value with a newline still makes one line', () => {
    expect(() => loadConfig({ PORT: '12\n34' })).toThrow(/^invalid PORT \(got "12\\n34"\)[^\n]*$/)
  })

  it('REDIS_URL and REDIS_CLUSTER_NODES together are refused', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'a:7000' })).toThrow(/REDIS_CLUSTER_NODES/)
  })
})

describe('good values', () => {
  it('defaults are those of docs/configuration.md, and empty strings count as unset', () => {
    const c = loadConfig({ PORT: '', LOG_LEVEL: '' })
    expect(c).toMatchObject({
      PORT: 1234, HOST: '0.0.0.0', DATA_DIR: './data', LOG_LEVEL: 'info', MAX_MESSAGE_BYTES: 16_777_216,
      RATE_LIMIT_PER_SECOND: 200, RATE_LIMIT_BURST: 2000, SHUTDOWN_TIMEOUT_MS: 10_000, MAX_CONNECTIONS: 100_000, KEEPALIVE_MS: 10_000,
    })
    expect(c.AUTH_SECRET).toBeUndefined()
    expect(c.REDIS_URL).toBeUndefined()
  })

  it('CLIENT_DIR="" turns the web client off (an empty value that means something)', async () => {
    expect(loadConfig({ CLIENT_DIR: '' }).CLIENT_DIR).toBe('')
    expect(loadConfig({}).CLIENT_DIR).toBeUndefined()
  })

  it('are parsed', () => {
    const c = loadConfig({ PORT: '8080', REDIS_CLUSTER_NODES: 'a:7000,b.example:7001', MAX_MESSAGE_BYTES: '1048576' })
    expect(c.PORT).toBe(8080)
    expect(c.REDIS_CLUSTER_NODES).toEqual([{ host: 'a', port: 7000 }, { host: 'b.example', port: 7001 }])
    expect(c.MAX_MESSAGE_BYTES).toBe(1_048_576)
  })

  it('a valid configuration starts', async () => {
    const { stdout } = await run({ LOG_LEVEL: 'info', MAX_MESSAGE_BYTES: '65536', KEEPALIVE_MS: '5000' })
    expect(stdout).toContain('quire listening')
  })
})
