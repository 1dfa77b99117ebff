/**
 * docker-compose.yml's promise (docs/deployment.md): without AUTH_SECRET the
 * Quire instances refuse to start unless .env says OPEN_MODE=allow. There is
 * no Docker engine here, so the instances' environment is read from the
 * compose file, interpolated as compose does (`${VAR:-default}`: the default
 * when VAR is unset or empty) against a .env, and given to a real server
 * process. HOST and REDIS_URL are the test's own (127.0.0.1, no Redis).
 * deploy/haproxy.cfg keeps /metrics away from the public and lets the
 * server's own pages through: checked with a real HAProxy in front of a real
 * instance when `haproxy` is installed (it is not among the suite's required
 * programs; the check is skipped, saying so, without it).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { startOnce, type StartRun } from './helpers/start-once.js'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { HAPROXY, locateBinary } from '../harness/binaries.js'
import { anyFrame, openRaw } from './helpers/raw-socket.js'
import { waitFor } from './helpers/wait.js'
import { startHaproxy, type Haproxy } from './helpers/haproxy.js'

/** The `environment:` block of service `quire-1`, as written (one `KEY: value` per line). */
function composeEnvironment (): Record<string, string> {
  const lines = readFileSync('docker-compose.yml', 'utf8').split('\n')
  const service = lines.findIndex((l) => /^ {2}quire-1:/.test(l))
  const start = lines.findIndex((l, i) => i > service && /^ {4}environment:\s*$/.test(l))
  expect(service, 'service quire-1').toBeGreaterThan(0)
  expect(start, 'its environment block').toBeGreaterThan(service)
  const env: Record<string, string> = {}
  for (const line of lines.slice(start + 1)) {
    if (/^\s*#/.test(line) || line.trim() === '') continue
    const m = /^ {6}([A-Z_]+):\s*(.*)$/.exec(line)
    if (!m) break
    env[m[1]] = m[2].replace(/^"(.*)"$/, '$1')
  }
  return env
}

/** Compose's `${VAR}` and `${VAR:-default}` against the variables of a .env file. */
function interpolate (value: string, dotEnv: Record<string, string>): string {
  return value.replace(/\$\{([A-Z_]+)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => dotEnv[name] || (fallback ?? ''))
}

/** Start the server with the compose environment for this .env; killed once it listens. */
function runComposeInstance (dotEnv: Record<string, string>): Promise<StartRun> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(composeEnvironment())) env[key] = interpolate(value, dotEnv)
  return startOnce({ ...env, HOST: '127.0.0.1', PORT: '0', REDIS_URL: '', DATA_DIR: mkdtempSync(join(tmpdir(), 'quire-compose-')) })
}

describe('docker-compose.yml', () => {
  it('the instances listen on every interface of their container, open mode refused by default', () => {
    expect(composeEnvironment()).toMatchObject({ HOST: '0.0.0.0', OPEN_MODE: '${OPEN_MODE:-refuse}', AUTH_SECRET: '${AUTH_SECRET:-}' })
  })

  it('with no AUTH_SECRET in .env, an instance stops at start and says what to set', async () => {
    for (const dotEnv of [{}, { AUTH_SECRET: '' }] as Array<Record<string, string>>) {
      const { code, stdout, stderr } = await runComposeInstance(dotEnv)
      expect(code).toBe(2)
      expect(stdout).toBe('')
      expect(stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(stderr).toMatch(/neither AUTH_SECRET nor AUTH_JWKS_URL is set .* set AUTH_SECRET .* or set OPEN_MODE=allow/)
    }
  })

  it('starts with AUTH_SECRET, or with OPEN_MODE=allow (announcing open mode)', async () => {
    const [secured, open] = await Promise.all([
      runComposeInstance({ AUTH_SECRET: 'compose-secret-0123456789', API_KEY: 'compose-api-key-0123456789' }),
      runComposeInstance({ OPEN_MODE: 'allow' }),
    ])
    expect(secured.stdout).toContain('quire listening')
    expect(secured.stdout).not.toContain('open mode')
    expect(open.stdout).toContain('quire listening')
    expect(open.stdout).toMatch(/neither AUTH_SECRET nor AUTH_JWKS_URL is set: open mode, anyone who reaches this server can read and write every document/)
  })
})

const haproxy = locateBinary(HAPROXY.name, HAPROXY.envVar)
if (haproxy === null) console.warn('deploy.test.ts: haproxy not installed (apt-get install haproxy): deploy/haproxy.cfg is not exercised')

describe.skipIf(haproxy === null)('deploy/haproxy.cfg, with a real HAProxy in front of one instance', () => {
  let quire: QuireProcess | undefined
  let lb: Haproxy | undefined
  afterAll(async () => {
    await lb?.stop()
    await quire?.kill()
  })

  it('/metrics is not served through it (404), while /healthz, the document named "metrics" and the server\'s own pages are', async () => {
    quire = await startQuire()
    // The compose file's config, pointed at this instance on 127.0.0.1.
    lb = await startHaproxy(haproxy!, [{ name: 'quire-1', port: quire.port }])
    const { url, port: lbPort } = lb
    await waitFor(() => fetch(`${url}/healthz`).then((r) => r.status, () => 0), (status) => status === 200, 'HAProxy passing /healthz to Quire')

    const metrics = await fetch(`${url}/metrics`)
    expect(metrics.status).toBe(404)
    expect(await metrics.text()).not.toContain('quire_')
    expect((await fetch(`${url}/metrics?format=text`)).status).toBe(404)
    // The instance itself would refuse a scrape relayed by the proxy anyway.
    expect((await fetch(`${quire.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.7' } })).status).toBe(403)

    const opens = async (doc: string, headers: Record<string, string> = {}): Promise<unknown> => {
      const raw = await openRaw(`ws://127.0.0.1:${lbPort}/${doc}`, headers)
      const first = await Promise.race([raw.next(anyFrame, `${doc}: a frame through HAProxy`, 5000).then(() => 'open'), raw.whenClosed(`${doc}: a close through HAProxy`, 5000)])
      raw.ws.close()
      return first
    }
    expect(await opens('metrics')).toBe('open')
    // HAProxy keeps the Host header: a page the balancer served is the server's own origin.
    expect(await opens('deploy/own', { origin: url })).toBe('open')
    expect(await opens('deploy/foreign', { origin: 'http://evil.example' })).toEqual({ code: 4403, reason: 'origin not allowed' })
  })
})
