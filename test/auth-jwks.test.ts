/**
 * Tokens from an identity provider (docs/auth.md): a JWKS endpoint started
 * here on 127.0.0.1 with keys made by jose, Quire as a real process with
 * AUTH_JWKS_URL, stock y-websocket clients and raw WebSockets. Algorithms,
 * issuer, audience, clock skew, claim mapping, key rotation without a
 * restart, an unreachable or hanging endpoint, and HS256 alongside.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startQuire, type QuireProcess } from '../harness/quire.js'
import { connectClient, whenClosed, whenDoc, whenSynced, type TestClient } from './helpers/clients.js'
import { anyFrame, openRaw } from './helpers/raw-socket.js'
import { isType, readServerFrame } from './helpers/frames.js'
import { mintToken, nowSeconds, TEST_SECRET } from './helpers/tokens.js'
import { readMetrics } from './helpers/metrics.js'
import { waitFor, within } from './helpers/wait.js'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { createAuthenticator } from '../server/auth/token.js'
import { loadConfig } from '../server/config.js'
import { signingKey, signWith, startJwksServer, type JwksMode, type JwksServer, type ProviderClaims, type SigningKey } from './helpers/jwks-server.js'

const ISSUER = 'https://idp.test/'
const AUDIENCE = 'quire'
const ALLOWED = 'https://quire.test/allowed'
const READONLY = 'quire.readonly'

/** What a provider configured for Quire puts in its tokens (Auth0-style namespaced list, nested read-only list, preferred_username). */
function claims (extra: ProviderClaims = {}): ProviderClaims {
  return { sub: 'idp|alice', preferred_username: 'alice', iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 3600, [ALLOWED]: ['idp/*'], ...extra }
}

/** The env that points Quire at a JWKS server and maps the claims above. */
function providerEnv (jwks: JwksServer, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AUTH_JWKS_URL: jwks.url,
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: `other-api,${AUDIENCE}`,
    AUTH_CLAIM_NAME: 'preferred_username',
    AUTH_CLAIM_ALLOWED: ALLOWED,
    AUTH_CLAIM_READONLY: READONLY,
    ...extra,
  }
}

/** How Quire answers an upgrade with this token: 'open' (it sent sync step 1) or the close code. */
async function admission (quire: QuireProcess, doc: string, token: string): Promise<'open' | number> {
  const raw = await openRaw(`${quire.wsUrl}/${doc}?token=${token}`)
  const result = await Promise.race([raw.next(isType('sync-step1'), `admission to ${doc}`, 10_000).then(() => 'open' as const), raw.whenClosed(`refusal of ${doc}`, 10_000).then((c) => c.code)])
  raw.ws.close()
  return result
}

/** The same, timed: how long the refusal (or the acceptance) took. */
async function timedAdmission (quire: QuireProcess, doc: string, token: string): Promise<{ result: 'open' | number, ms: number }> {
  const started = performance.now()
  const result = await admission(quire, doc, token)
  return { result, ms: performance.now() - started }
}

/** A JWKS server serving `keys` (then switched to `mode`) and a Quire started with `envFor(it)`, for one test; both stopped after. */
async function withProvider (keys: SigningKey[], envFor: (jwks: JwksServer) => Record<string, string>, body: (jwks: JwksServer, quire: QuireProcess) => Promise<void>, mode: JwksMode = 'serving'): Promise<void> {
  const jwks = await startJwksServer(keys)
  try {
    await jwks.setMode(mode)
    const quire = await startQuire(envFor(jwks))
    try {
      await body(jwks, quire)
    } finally {
      await quire.kill()
    }
  } finally {
    await jwks.stop()
  }
}

const logCount = (quire: QuireProcess, text: string): number => quire.logs.filter((l) => l.includes(text)).length

const clients: TestClient[] = []
function client (quire: QuireProcess, doc: string, token: string): TestClient {
  const c = connectClient(quire.wsUrl, doc, { token })
  clients.push(c)
  return c
}
afterAll(() => { for (const c of clients) c.destroy() })

describe('a provider with a JWKS URL, and AUTH_SECRET alongside', () => {
  let keys: Record<'rs' | 'ps' | 'es' | 'ed', SigningKey>
  let jwks: JwksServer
  let quire: QuireProcess

  beforeAll(async () => {
    const [rs, ps, es, ed] = await Promise.all([
      signingKey('RS256', 'rsa-1'), signingKey('PS256', 'pss-1'), signingKey('ES256', 'ec-1'), signingKey('EdDSA', 'ed-1'),
    ])
    keys = { rs, ps, es, ed }
    jwks = await startJwksServer([rs, ps, es, ed])
    quire = await startQuire({ ...providerEnv(jwks), AUTH_SECRET: TEST_SECRET })
  })
  afterAll(async () => {
    await quire?.kill()
    await jwks?.stop()
  })

  for (const [which, alg] of [['rs', 'RS256'], ['ps', 'PS256'], ['es', 'ES256'], ['ed', 'EdDSA']] as const) {
    it(`${alg}: stock clients co-edit with the provider's tokens`, async () => {
      const token = await signWith(keys[which], claims())
      const a = client(quire, `idp/${alg}`, token)
      const b = client(quire, `idp/${alg}`, token)
      await Promise.all([whenSynced(a, `${alg}: writer synced`), whenSynced(b, `${alg}: reader synced`)])
      a.text.insert(0, alg)
      await whenDoc(b.doc, () => b.text.toString() === alg, `${alg}: the edit reached the other client`)
    })
  }

  it('HS256 tokens signed with AUTH_SECRET still work, under the same issuer, audience and claim names', async () => {
    const token = await mintToken({ sub: 'app-bot', iss: ISSUER, aud: AUDIENCE, [ALLOWED]: ['idp/*'] })
    expect(await admission(quire, 'idp/hs', token)).toBe('open')
    // Quire's own claim names are not read once the mapping points elsewhere.
    const unmapped = await mintToken({ sub: 'app-bot', iss: ISSUER, aud: AUDIENCE, allowedDocumentNames: ['idp/*'] })
    expect(await admission(quire, 'idp/hs', unmapped)).toBe(4403)
  })

  it('the audience may be any one of the configured list, or a list that contains one', async () => {
    expect(await admission(quire, 'idp/aud', await signWith(keys.es, claims({ aud: 'other-api' })))).toBe('open')
    expect(await admission(quire, 'idp/aud', await signWith(keys.es, claims({ aud: ['somebody-else', AUDIENCE] })))).toBe('open')
  })

  const refused: Array<[string, (k: typeof keys) => Promise<string>, number]> = [
    ['a wrong issuer', (k) => signWith(k.rs, claims({ iss: 'https://evil.test/' })), 4401],
    ['no issuer', (k) => signWith(k.rs, claims({ iss: undefined })), 4401],
    ['a wrong audience', (k) => signWith(k.rs, claims({ aud: 'another-app' })), 4401],
    ['no audience', (k) => signWith(k.rs, claims({ aud: undefined })), 4401],
    ['expired beyond the skew (60 s ago, 30 s allowed)', (k) => signWith(k.es, claims({ exp: nowSeconds() - 60 })), 4401],
    ['not valid for another 2 minutes', (k) => signWith(k.es, claims({ nbf: nowSeconds() + 120 })), 4401],
    ['issued 2 minutes in the future', (k) => signWith(k.es, claims({ iat: nowSeconds() + 120 })), 4401],
    ['an unknown key id', (k) => signWith(k.ed, claims(), { kid: 'nobody-has-this' }), 4401],
    ['a key id of the set, signed with another key', async (k) => signWith({ ...await signingKey('ES256', 'x'), kid: k.es.kid }, claims()), 4401],
    ['HS256 signed with another secret', () => mintToken({ sub: 'x', iss: ISSUER, aud: AUDIENCE, [ALLOWED]: ['*'] }, { secret: 'not-the-secret-at-all-no' }), 4401],
    ['an HS384 token', () => mintToken({ sub: 'x', iss: ISSUER, aud: AUDIENCE, [ALLOWED]: ['*'] }, { alg: 'HS384' }), 4401],
    ['no user id (sub)', (k) => signWith(k.rs, claims({ sub: undefined })), 4401],
    ['a malformed document list', (k) => signWith(k.rs, claims({ [ALLOWED]: { team: true } })), 4401],
    ['a token for another document', (k) => signWith(k.rs, claims({ [ALLOWED]: ['idp/elsewhere'] })), 4403],
  ]
  for (const [what, mint, code] of refused) {
    it(`${what}: ${code}, and no byte of the document`, async () => {
      const token = await mint(keys)
      const raw = await openRaw(`${quire.wsUrl}/idp/refusals?token=${token}`)
      expect((await raw.whenClosed(`the close ${code}`)).code).toBe(code)
      expect(raw.frames).toEqual([])
    })
  }

  it('a token with "alg": "none" is refused', async () => {
    const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`
    expect(await admission(quire, 'idp/none', token)).toBe(4401)
  })

  it('within the skew: a token expired 26 s ago is accepted, and closed with 4401 once the skew runs out', async () => {
    const token = await signWith(keys.rs, claims({ exp: nowSeconds() - 26 }))
    const c = client(quire, 'idp/skew', token)
    await whenSynced(c, 'the client within the skew synced')
    expect(await whenClosed(c, 'the close once exp + 30 s passes', 10_000)).toEqual({ code: 4401, reason: 'token expired' })
  })

  it('within the skew: nbf and iat 20 s in the future are accepted', async () => {
    expect(await admission(quire, 'idp/skew2', await signWith(keys.ps, claims({ nbf: nowSeconds() + 20, iat: nowSeconds() + 20 })))).toBe('open')
  })

  it('read-only through the mapped claim, as an array or a space-separated string', async () => {
    for (const list of [['idp/ro/*'], 'elsewhere idp/ro/*']) {
      const token = await signWith(keys.ed, claims({ [ALLOWED]: [], quire: { readonly: list } }))
      const raw = await openRaw(`${quire.wsUrl}/idp/ro/doc?ack=1&token=${token}`)
      expect(readServerFrame(await raw.next(anyFrame, 'the session frame'))).toEqual({ type: 'session', info: { access: 'read' } })
      raw.ws.close()
    }
    const writer = await signWith(keys.ed, claims({ [ALLOWED]: 'idp/ro/*' }))
    const raw = await openRaw(`${quire.wsUrl}/idp/ro/doc?ack=1&token=${writer}`)
    expect(readServerFrame(await raw.next(anyFrame, 'the session frame'))).toEqual({ type: 'session', info: { access: 'write' } })
    raw.ws.close()
  })

  it('made-up key ids cost the provider nothing within the cooldown', async () => {
    await jwks.whenRequests(1)
    expect(await admission(quire, 'idp/flood', await signWith(keys.rs, claims()))).toBe('open')
    const before = jwks.requests
    const results = await Promise.all(Array.from({ length: 40 }, async (_, i) =>
      admission(quire, 'idp/flood', await signWith(keys.rs, claims(), { kid: `made-up-${i}` }))))
    expect(results).toEqual(Array(40).fill(4401))
    expect(jwks.requests).toBe(before)
  })

  it('reports the endpoint in /metrics', async () => {
    const m = await readMetrics(quire.url)
    expect(m.get('quire_auth_jwks_up')).toBe(1)
    expect(m.get('quire_auth_jwks_keys')).toBe(4)
    expect(m.get('quire_auth_jwks_fetches_total{result="ok"}')).toBeGreaterThanOrEqual(1)
  })
})

describe('key rotation, without restarting Quire', () => {
  it('a new key id is fetched on first sight; a removed key stops working at the next refresh', async () => {
    const [oldKey, newKey] = await Promise.all([signingKey('RS256', 'key-2024'), signingKey('RS256', 'key-2025')])
    // A short cooldown and refresh, so the test waits little; waits are bounded and say for what.
    await withProvider([oldKey], (jwks) => providerEnv(jwks, { AUTH_JWKS_COOLDOWN_MS: '300', AUTH_JWKS_REFRESH_MS: '500' }), async (jwks, quire) => {
      const oldToken = await signWith(oldKey, claims())
      const newToken = await signWith(newKey, claims())
      expect(await admission(quire, 'idp/rot', oldToken)).toBe('open')

      // The provider publishes its next key, then signs with it.
      jwks.setKeys([oldKey, newKey])
      await waitFor(() => admission(quire, 'idp/rot', newToken), (r) => r === 'open', 'a token signed with the new key to be accepted')
      expect(await admission(quire, 'idp/rot', oldToken)).toBe('open')

      // The provider retires the old key.
      jwks.setKeys([newKey])
      await waitFor(() => admission(quire, 'idp/rot', oldToken), (r) => r === 4401, 'a token signed with the removed key to be refused')
      expect(await admission(quire, 'idp/rot', newToken)).toBe('open')
      expect(logCount(quire, 'JWKS endpoint unreachable')).toBe(0)
    })
  })
})

describe('an unreachable JWKS endpoint', () => {
  it('refuses new keys at once with 4401, keeps accepting cached ones, warns once per outage and recovers', async () => {
    const [known, rotated] = await Promise.all([signingKey('ES256', 'known'), signingKey('ES256', 'rotated')])
    // A timeout far above what a prompt refusal may take, so waiting on it would show.
    await withProvider([known], (jwks) => providerEnv(jwks, { AUTH_JWKS_TIMEOUT_MS: '5000', AUTH_JWKS_COOLDOWN_MS: '1000' }), async (jwks, quire) => {
      const knownToken = await signWith(known, claims())
      const rotatedToken = await signWith(rotated, claims())
      expect(await admission(quire, 'idp/down', knownToken)).toBe('open')

      await within(jwks.setMode('down'), 5000, 'the JWKS server to stop')
      jwks.setKeys([known, rotated])
      // Within the cooldown an unknown key is refused without asking; past it, Quire asks, fails, and says so.
      const refusals: Array<{ result: 'open' | number, ms: number }> = []
      const refuseRotated = async (): Promise<number> => {
        refusals.push(await timedAdmission(quire, 'idp/down', rotatedToken))
        return logCount(quire, 'JWKS endpoint unreachable')
      }
      await waitFor(refuseRotated, (warnings) => warnings === 1, 'a fetch past the cooldown to fail and be reported')
      for (let i = 0; i < 5; i++) await refuseRotated()
      for (const r of refusals) {
        expect(r.result).toBe(4401)
        expect(r.ms).toBeLessThan(2500)
      }
      expect(await admission(quire, 'idp/down', knownToken)).toBe('open')
      expect(logCount(quire, 'JWKS endpoint unreachable')).toBe(1)
      expect((await readMetrics(quire.url)).get('quire_auth_jwks_up')).toBe(0)

      // Back, with the rotated key: picked up without a restart.
      await within(jwks.setMode('serving'), 5000, 'the JWKS server to listen again')
      await waitFor(() => admission(quire, 'idp/down', rotatedToken), (r) => r === 'open', 'the rotated key once the endpoint is back')
      await within(quire.waitForLog('JWKS endpoint reachable again'), 10_000, 'the log line: JWKS endpoint reachable again')
      expect(logCount(quire, 'JWKS endpoint unreachable')).toBe(1)

      // A second outage warns again, once.
      await within(jwks.setMode('down'), 5000, 'the JWKS server to stop')
      const third = await signWith(await signingKey('ES256', 'third'), claims())
      await waitFor(async () => {
        expect(await admission(quire, 'idp/down', third)).toBe(4401)
        return logCount(quire, 'JWKS endpoint unreachable')
      }, (n) => n === 2, 'the second outage\'s warning')
      for (let i = 0; i < 3; i++) expect(await admission(quire, 'idp/down', third)).toBe(4401)
      expect(await admission(quire, 'idp/down', knownToken)).toBe('open')
      expect(logCount(quire, 'JWKS endpoint unreachable')).toBe(2)
    })
  })

  it('a hanging endpoint: the first wait is bounded by the timeout, later refusals do not wait, and probes are rationed', async () => {
    const key = await signingKey('EdDSA', 'hung')
    await withProvider([key], (jwks) => providerEnv(jwks, { AUTH_JWKS_TIMEOUT_MS: '1500', AUTH_JWKS_COOLDOWN_MS: '4000' }), async (jwks, quire) => {
      const token = await signWith(key, claims())
      // Quire asks for the keys at start; that fetch hangs until its timeout.
      await jwks.whenRequests(1)
      const first = await timedAdmission(quire, 'idp/hang', token)
      expect(first.result).toBe(4401)
      expect(first.ms).toBeLessThan(1500 + 2500)
      await within(quire.waitForLog('JWKS endpoint unreachable'), 10_000, 'the log line: JWKS endpoint unreachable')

      const started = performance.now()
      const requestsBefore = jwks.requests
      for (let i = 0; i < 10; i++) {
        const r = await timedAdmission(quire, 'idp/hang', token)
        expect(r.result).toBe(4401)
        expect(r.ms).toBeLessThan(1000)
      }
      // Probes go out at most every 1 s, 2 s, 4 s: never one per refused client.
      const elapsed = performance.now() - started
      expect(jwks.requests - requestsBefore).toBeLessThanOrEqual(1 + Math.ceil(elapsed / 1000))
      expect(logCount(quire, 'JWKS endpoint unreachable')).toBe(1)

      await within(jwks.setMode('serving'), 5000, 'the JWKS server to listen again')
      await waitFor(() => admission(quire, 'idp/hang', token), (r) => r === 'open', 'acceptance once the endpoint answers again', 20_000)
    }, 'hanging')
  })

  it('a Quire started while the endpoint is down refuses at once and warns', async () => {
    const key = await signingKey('RS256', 'late')
    await withProvider([key], (jwks) => providerEnv(jwks, { AUTH_JWKS_TIMEOUT_MS: '5000' }), async (_jwks, quire) => {
      const token = await signWith(key, claims())
      for (let i = 0; i < 3; i++) {
        const r = await timedAdmission(quire, 'idp/late', token)
        expect(r.result).toBe(4401)
        expect(r.ms).toBeLessThan(2500)
      }
      await within(quire.waitForLog('JWKS endpoint unreachable'), 10_000, 'the log line: JWKS endpoint unreachable')
      expect(logCount(quire, 'JWKS endpoint unreachable')).toBe(1)
    }, 'down')
  })
})

describe('a JWKS URL that answers, but not with a key set', () => {
  for (const mode of ['error', 'redirect', 'oversized', 'not-a-key-set'] as const) {
    it(`${mode}: a failed fetch, reported once; tokens refused until the set is served`, async () => {
      const key = await signingKey('ES256', mode)
      const jwks = await startJwksServer([key])
      await jwks.setMode(mode)
      const lines: string[] = []
      const log = pino({ level: 'info' }, { write: (line: string) => { lines.push(line) } })
      const registry = new Registry()
      const auth = createAuthenticator(loadConfig({ AUTH_JWKS_URL: jwks.url }), { log, registry })
      try {
        const token = await signWith(key, { sub: 'u', allowedDocumentNames: ['*'] })
        for (let i = 0; i < 3; i++) await expect(auth.authenticate(token, 'doc')).rejects.toMatchObject({ code: 4401 })
        expect(lines.filter((l) => l.includes('JWKS endpoint unreachable'))).toHaveLength(1)
        expect(await registry.getSingleMetricAsString('quire_auth_jwks_up')).toMatch(/^quire_auth_jwks_up 0$/m)
        await jwks.setMode('serving')
        await waitFor(() => auth.authenticate(token, 'doc').then(() => true, () => false), (ok) => ok, 'acceptance once the key set is served')
        expect(await registry.getSingleMetricAsString('quire_auth_jwks_up')).toMatch(/^quire_auth_jwks_up 1$/m)
      } finally {
        await jwks.stop()
      }
    })
  }
})

describe('start-up', () => {
  it('AUTH_JWKS_URL alone turns auth on: no open-mode warning, and a token is required', async () => {
    const key = await signingKey('ES256', 'only')
    await withProvider([key], (jwks) => ({ AUTH_JWKS_URL: jwks.url }), async (_jwks, quire) => {
      expect(quire.logs.some((l) => l.includes('open mode'))).toBe(false)
      const raw = await openRaw(`${quire.wsUrl}/anything`)
      expect((await raw.whenClosed('the 4401')).code).toBe(4401)
      // Quire's own claim names by default; HS256 is not accepted without AUTH_SECRET.
      expect(await admission(quire, 'team/a', await signWith(key, { sub: 'u', allowedDocumentNames: ['team/*'] }))).toBe('open')
      expect(await admission(quire, 'team/a', await mintToken({ sub: 'u', allowedDocumentNames: ['team/*'] }))).toBe(4401)
    })
  })
})
