/**
 * Claim mapping (docs/auth.md, "Tokens from an identity provider"): where
 * the user id, name and document lists are read in a provider's token, and
 * the configuration variables that choose it.
 */
import { describe, expect, it } from 'vitest'
import { claimList, ClaimError, DEFAULT_CLAIMS, mapClaims, readClaim, type ClaimMapping } from '../server/auth/claims.js'
import { loadConfig } from '../server/config.js'

describe('readClaim', () => {
  const payload = {
    sub: 'u1',
    'https://example.com/docs': ['team/*'],
    'https://example.com/quire': { docs: ['nested/*'] },
    realm_access: { roles: ['editor'] },
    resource_access: { quire: { roles: ['reader'] } },
    'cognito:groups': ['admins'],
    'a.b': 'literal key with a dot',
    a: { b: 'nested a then b', c: null },
    list: [{ x: 1 }],
  }
  const cases: Array<[string, unknown]> = [
    ['sub', 'u1'],
    ['https://example.com/docs', ['team/*']],
    ['https://example.com/quire.docs', ['nested/*']],
    ['realm_access.roles', ['editor']],
    ['resource_access.quire.roles', ['reader']],
    ['cognito:groups', ['admins']],
    ['a.b', 'literal key with a dot'],
    ['a.c', null],
    ['missing', undefined],
    ['realm_access.missing', undefined],
    ['sub.length', undefined],
    ['list.0', undefined],
    ['a.b.c', undefined],
    ['__proto__', undefined],
    ['constructor', undefined],
    ['toString', undefined],
  ]
  for (const [path, expected] of cases) {
    it(`${path} → ${JSON.stringify(expected)}`, () => {
      expect(readClaim(payload, path)).toEqual(expected)
    })
  }

  it('a path through a key that exists but leads nowhere falls back to a shorter key', () => {
    expect(readClaim({ 'x.y': { z: 1 }, x: { 'y.w': 2 } }, 'x.y.w')).toBe(2)
    expect(readClaim({ 'x.y': { z: 1 }, x: { 'y.w': 2 } }, 'x.y.z')).toBe(1)
  })

  it('reads nothing from what is not an object', () => {
    expect(readClaim(null, 'sub')).toBeUndefined()
    expect(readClaim('sub', 'sub')).toBeUndefined()
    expect(readClaim(['sub'], '0')).toBeUndefined()
  })
})

describe('claimList', () => {
  it('takes an array of strings as it is', () => {
    expect(claimList(['a', 'b/*'], 'c')).toEqual(['a', 'b/*'])
    expect(claimList([], 'c')).toEqual([])
  })
  it('splits a space-separated string', () => {
    expect(claimList('team/* handbook  public/x', 'c')).toEqual(['team/*', 'handbook', 'public/x'])
    expect(claimList('single', 'c')).toEqual(['single'])
    expect(claimList('   ', 'c')).toEqual([])
  })
  it('absent or null is no list', () => {
    expect(claimList(undefined, 'c')).toBeUndefined()
    expect(claimList(null, 'c')).toBeUndefined()
  })
  it('anything else is refused, naming the claim', () => {
    for (const bad of [42, true, { a: 1 }, ['a', 1], [null]]) {
      expect(() => claimList(bad, 'my.claim'), JSON.stringify(bad)).toThrow(ClaimError)
      expect(() => claimList(bad, 'my.claim')).toThrow(/my\.claim/)
    }
  })
})

describe('mapClaims', () => {
  it('with the defaults, reads Quire\'s own claims', () => {
    expect(mapClaims({ sub: 'u', name: 'N', allowedDocumentNames: ['a'], readonlyDocumentNames: ['b'] }, DEFAULT_CLAIMS))
      .toEqual({ userId: 'u', name: 'N', allowed: ['a'], readonly: ['b'] })
  })

  it('follows a mapping (an Auth0-style token)', () => {
    const mapping: ClaimMapping = { userId: 'sub', name: 'nickname', allowed: 'https://quire.example.com/allowed', readonly: 'https://quire.example.com/readonly' }
    const payload = {
      sub: 'auth0|65f0',
      nickname: 'ada',
      name: 'not this one',
      'https://quire.example.com/allowed': ['team/*'],
      'https://quire.example.com/readonly': 'handbook/* public/*',
    }
    expect(mapClaims(payload, mapping)).toEqual({ userId: 'auth0|65f0', name: 'ada', allowed: ['team/*'], readonly: ['handbook/*', 'public/*'] })
  })

  it('a numeric user id becomes a string', () => {
    expect(mapClaims({ uid: 12345 }, { ...DEFAULT_CLAIMS, userId: 'uid' }).userId).toBe('12345')
  })

  it('a missing or empty user id is refused', () => {
    for (const payload of [{}, { sub: '' }, { sub: null }, { sub: {} }, { sub: 1.5 }, { sub: ['u'] }]) {
      expect(() => mapClaims(payload, DEFAULT_CLAIMS), JSON.stringify(payload)).toThrow(ClaimError)
    }
  })

  it('a name that is not a string is ignored, not refused', () => {
    expect(mapClaims({ sub: 'u', name: { first: 'A' } }, DEFAULT_CLAIMS).name).toBeUndefined()
    expect(mapClaims({ sub: 'u', name: '' }, DEFAULT_CLAIMS).name).toBeUndefined()
  })

  it('a malformed list is refused', () => {
    expect(() => mapClaims({ sub: 'u', allowedDocumentNames: 'a', readonlyDocumentNames: [1] }, DEFAULT_CLAIMS)).toThrow(ClaimError)
  })
})

describe('configuration', () => {
  const base = { AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json' }

  it('defaults', () => {
    const c = loadConfig(base)
    expect(c).toMatchObject({
      AUTH_CLOCK_SKEW_SECONDS: 30,
      AUTH_CLAIM_USER_ID: 'sub',
      AUTH_CLAIM_NAME: 'name',
      AUTH_CLAIM_ALLOWED: 'allowedDocumentNames',
      AUTH_CLAIM_READONLY: 'readonlyDocumentNames',
      AUTH_JWKS_TIMEOUT_MS: 3000,
      AUTH_JWKS_COOLDOWN_MS: 30_000,
      AUTH_JWKS_REFRESH_MS: 600_000,
    })
    expect(c.AUTH_ISSUER).toBeUndefined()
    expect(c.AUTH_AUDIENCE).toBeUndefined()
  })

  it('parses an audience list, URL claims and dotted paths', () => {
    const c = loadConfig({ ...base, AUTH_AUDIENCE: 'quire, api://default ,https://quire.example.com', AUTH_CLAIM_ALLOWED: 'https://example.com/docs', AUTH_CLAIM_READONLY: 'realm_access.roles' })
    expect(c.AUTH_AUDIENCE).toEqual(['quire', 'api://default', 'https://quire.example.com'])
    expect(c.AUTH_CLAIM_ALLOWED).toBe('https://example.com/docs')
    expect(c.AUTH_CLAIM_READONLY).toBe('realm_access.roles')
  })

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ AUTH_JWKS_URL: 'ftp://idp.example.com/jwks' }, /^invalid AUTH_JWKS_URL: must be an http:\/\/ or https:\/\/ URL$/],
    [{ AUTH_JWKS_URL: 'not a url' }, /^invalid AUTH_JWKS_URL: /],
    [{ ...base, AUTH_AUDIENCE: 'a,,b' }, /^invalid AUTH_AUDIENCE \(got "a,,b"\): must be a comma-separated list/],
    [{ ...base, AUTH_CLOCK_SKEW_SECONDS: '301' }, /^invalid AUTH_CLOCK_SKEW_SECONDS/],
    [{ ...base, AUTH_CLAIM_NAME: 'preferred username' }, /^invalid AUTH_CLAIM_NAME/],
    [{ ...base, AUTH_JWKS_TIMEOUT_MS: '10' }, /^invalid AUTH_JWKS_TIMEOUT_MS/],
    // Rules with nothing to check tokens against: the server would be open while its operator thinks it is not.
    [{ AUTH_ISSUER: 'https://idp.example.com/' }, /^invalid AUTH_ISSUER: needs AUTH_SECRET or AUTH_JWKS_URL/],
    [{ AUTH_JWKS_ULR: base.AUTH_JWKS_URL, AUTH_AUDIENCE: 'quire' }, /^invalid AUTH_AUDIENCE: needs AUTH_SECRET or AUTH_JWKS_URL/],
    [{ AUTH_SECRET: 'a-secret-of-enough-length', AUTH_JWKS_COOLDOWN_MS: '1000' }, /^invalid AUTH_JWKS_COOLDOWN_MS: needs AUTH_JWKS_URL$/],
  ]
  for (const [env, message] of bad) {
    it(`refuses ${JSON.stringify(env)}`, () => {
      expect(() => loadConfig(env)).toThrow(message)
    })
  }

  it('never echoes the JWKS URL (it may carry credentials)', () => {
    expect(() => loadConfig({ AUTH_JWKS_URL: 'gopher://user:hunter2@idp' })).toThrow(/^(?!.*hunter2)/)
  })
})
