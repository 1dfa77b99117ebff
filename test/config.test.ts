/**
 * Configuration (docs/configuration.md): every variable validated at start; a bad
 * value stops the process with a non-zero exit and ONE line naming it.
 */
import { describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../server/config.js'
import { startOnce, type StartRun as Run } from './helpers/start-once.js'

/** Start the server as `npm start` does, with only these variables; it is killed if it ever gets to listen. */
function run (env: Record<string, string>): Promise<Run> {
  return startOnce({ HOST: '127.0.0.1', PORT: '0', DATA_DIR: mkdtempSync(join(tmpdir(), 'quire-cfg-')), ...env }, 30_000)
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
  // Not more than the default grace (5 s) and spread (10 s) together.
  ['SHUTDOWN_TIMEOUT_MS', '15000'],
  ['DRAIN_GRACE_MS', '-5'],
  ['DRAIN_SPREAD_MS', 'soon'],
  ['MAX_NEW_CONNECTIONS_PER_SECOND', '0'],
  ['MAX_NEW_CONNECTIONS_PER_IP_BURST', '1.5'],
  ['MAX_CONNECTIONS', '0'],
  ['KEEPALIVE_MS', '20000'],
  ['ALLOWED_ORIGINS', 'evil.example'],
  ['ALLOWED_ORIGINS', 'https://app.example/path'],
  ['ALLOWED_ORIGINS', ' , '],
  ['EMBED_ORIGINS', 'ftp://files.example'],
  ['METRICS_TOKEN', 'short'],
  ['METRICS_PORT', 'nine'],
  ['METRICS_HOST', '   '],
  ['OPEN_MODE', 'maybe'],
]

describe('a bad value stops the server at start', () => {
  it('with a non-zero exit and one line on stderr naming the variable, for every variable', async () => {
    // A few at a time: two dozen node processes starting at once on a shared
    // 2-core machine can take longer than run()'s deadline.
    const runs: Run[] = []
    for (let i = 0; i < bad.length; i += 4) {
      runs.push(...await Promise.all(bad.slice(i, i + 4).map(([name, value]) => run({ [name]: value }))))
    }
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
    expect((await run({ METRICS_TOKEN: 'tokenshort' })).stderr).not.toContain('tokenshort')
  })

  it('a value with a newline still makes one line', () => {
    expect(() => loadConfig({ PORT: '12\n34' })).toThrow(/^invalid PORT \(got "12\\n34"\)[^\n]*$/)
  })

  it('REDIS_URL and REDIS_CLUSTER_NODES together are refused', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'a:7000' })).toThrow(/REDIS_CLUSTER_NODES/)
  })

  it('METRICS_PORT equal to PORT is refused', () => {
    expect(() => loadConfig({ PORT: '9000', METRICS_PORT: '9000' })).toThrow(/^invalid METRICS_PORT .*must differ from PORT$/)
  })
})

describe('open mode on purpose only', () => {
  it('OPEN_MODE=refuse without AUTH_SECRET stops at start, saying exactly what to set', async () => {
    const { code, stdout, stderr } = await run({ OPEN_MODE: 'refuse' })
    expect(code).not.toBe(0)
    expect(code).not.toBeNull()
    expect(stdout).toBe('')
    const lines = stderr.trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^quire: neither AUTH_SECRET nor AUTH_JWKS_URL is set and OPEN_MODE=refuse: set AUTH_SECRET .* or set OPEN_MODE=allow /)
  })

  it('OPEN_MODE=refuse with AUTH_SECRET, and OPEN_MODE=allow without, start', async () => {
    const [secured, open] = await Promise.all([
      run({ OPEN_MODE: 'refuse', AUTH_SECRET: 'a-secret-of-sixteen-chars' }),
      run({ OPEN_MODE: 'allow' }),
    ])
    expect(secured.stdout).toContain('quire listening')
    expect(open.stdout).toContain('quire listening')
  })

  it('open mode with HOST unset listens on 127.0.0.1 and its warning says how to expose it', async () => {
    const { stdout } = await run({ HOST: '' })
    const lines = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { msg: string, host?: string, level: number })
    expect(lines.find((l) => l.msg === 'quire listening')?.host).toBe('127.0.0.1')
    const warning = lines.find((l) => l.msg.startsWith('neither AUTH_SECRET nor AUTH_JWKS_URL is set'))
    expect(warning?.level).toBe(40)
    expect(warning?.msg).toMatch(/anyone who reaches this server can read and write every document/)
    expect(warning?.msg).toMatch(/set HOST=0\.0\.0\.0 explicitly/)
  })
})

describe('good values', () => {
  it('defaults are those of docs/configuration.md, and empty strings count as unset', () => {
    const c = loadConfig({ PORT: '', LOG_LEVEL: '', HOST: '' })
    expect(c).toMatchObject({
      PORT: 1234, HOST: '127.0.0.1', DATA_DIR: './data', LOG_LEVEL: 'info', MAX_MESSAGE_BYTES: 16_777_216,
      RATE_LIMIT_PER_SECOND: 200, RATE_LIMIT_BURST: 2000, SHUTDOWN_TIMEOUT_MS: 25_000, MAX_CONNECTIONS: 100_000, KEEPALIVE_MS: 10_000,
      DRAIN_GRACE_MS: 5_000, DRAIN_SPREAD_MS: 10_000,
      MAX_NEW_CONNECTIONS_PER_SECOND: 500, MAX_NEW_CONNECTIONS_BURST: 1000, MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND: 50, MAX_NEW_CONNECTIONS_PER_IP_BURST: 200,
    })
    expect(c.AUTH_SECRET).toBeUndefined()
    expect(c.REDIS_URL).toBeUndefined()
    expect(c).toMatchObject({ METRICS_HOST: '127.0.0.1', OPEN_MODE: 'allow' })
    for (const key of ['ALLOWED_ORIGINS', 'EMBED_ORIGINS', 'METRICS_TOKEN', 'METRICS_PORT'] as const) expect(c[key]).toBeUndefined()
  })

  it('SHUTDOWN_TIMEOUT_MS: unset, the grace and the spread plus 10 s; set, more than the two together (one line naming it otherwise)', () => {
    expect(loadConfig({ DRAIN_GRACE_MS: '1000', DRAIN_SPREAD_MS: '2000' }).SHUTDOWN_TIMEOUT_MS).toBe(13_000)
    expect(loadConfig({ DRAIN_GRACE_MS: '0', DRAIN_SPREAD_MS: '0' }).SHUTDOWN_TIMEOUT_MS).toBe(10_000)
    expect(loadConfig({ DRAIN_GRACE_MS: '1000', DRAIN_SPREAD_MS: '2000', SHUTDOWN_TIMEOUT_MS: '3001' }).SHUTDOWN_TIMEOUT_MS).toBe(3001)
    expect(loadConfig({ DRAIN_GRACE_MS: '0', DRAIN_SPREAD_MS: '0', SHUTDOWN_TIMEOUT_MS: '0' }).SHUTDOWN_TIMEOUT_MS).toBe(0)
    expect(() => loadConfig({ DRAIN_GRACE_MS: '1000', DRAIN_SPREAD_MS: '2000', SHUTDOWN_TIMEOUT_MS: '3000' }))
      .toThrow(/^invalid SHUTDOWN_TIMEOUT_MS \(got "3000"\): must be more than DRAIN_GRACE_MS \+ DRAIN_SPREAD_MS \(3000\)/)
  })

  it('HOST: every interface with AUTH_SECRET, this machine only in open mode, and whatever is set explicitly', () => {
    const secret = 'a-secret-of-sixteen-chars'
    expect(loadConfig({}).HOST).toBe('127.0.0.1')
    expect(loadConfig({ AUTH_SECRET: secret }).HOST).toBe('0.0.0.0')
    expect(loadConfig({ HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0')
    expect(loadConfig({ AUTH_SECRET: secret, HOST: '10.0.0.5' }).HOST).toBe('10.0.0.5')
  })

  it('origin lists are normalized as browsers send Origin', () => {
    const c = loadConfig({ ALLOWED_ORIGINS: ' https://App.Example:443/ ,http://localhost:3000,*', EMBED_ORIGINS: 'http://[::1]:8080' })
    expect(c.ALLOWED_ORIGINS).toEqual(['https://app.example', 'http://localhost:3000', '*'])
    expect(c.EMBED_ORIGINS).toEqual(['http://[::1]:8080'])
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
