/**
 * The web editor with an identity provider's tokens (docs/auth.md, "Tokens
 * from an identity provider"): `?token=` carrying an RS256 token whose keys
 * Quire fetched from a JWKS URL, with mapped claims, edits; a read-only one
 * through the mapped claim shows the document but takes no input.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { browserSuite, waitStatus } from './harness.js'
import { signingKey, signWith, startJwksServer } from '../helpers/jwks-server.js'
import { nowSeconds } from '../helpers/tokens.js'

const key = await signingKey('RS256', 'browser-key')
const jwks = await startJwksServer([key])
const suite = browserSuite({
  AUTH_JWKS_URL: jwks.url,
  AUTH_ISSUER: 'https://idp.test/',
  AUTH_AUDIENCE: 'quire',
  AUTH_CLAIM_ALLOWED: 'https://quire.test/allowed',
  AUTH_CLAIM_READONLY: 'quire.readonly',
})
afterAll(() => jwks.stop())

const token = (sub: string, name: string, claims: Record<string, unknown>): Promise<string> =>
  signWith(key, { sub, name, iss: 'https://idp.test/', aud: 'quire', exp: nowSeconds() + 3600, ...claims })

describe('the web editor with a provider\'s tokens', () => {
  it('a writer edits and a read-only reader sees it live, each under the token\'s name', async () => {
    const writerToken = await token('idp|wes', 'Wes Writer', { 'https://quire.test/allowed': ['idp/*'] })
    const readerToken = await token('idp|rita', 'Rita Reader', { quire: { readonly: 'idp/*' } })
    const writer = await suite.open(`/d/idp/notes?token=${writerToken}`)
    await writer.page.locator('[data-testid="connection-status"][data-status="connected"][data-access="write"]').waitFor()
    await writer.page.locator('[data-testid="presence-user"][data-self="true"]', { hasText: 'Wes Writer' }).waitFor()
    await writer.page.locator('.ProseMirror').click()
    await writer.page.keyboard.type('signed in with a provider')

    const reader = await suite.open(`/d/idp/notes?token=${readerToken}`)
    await reader.page.locator('[data-testid="connection-status"][data-status="connected"][data-access="read"]').waitFor()
    await reader.page.locator('.ProseMirror[contenteditable="false"]', { hasText: 'signed in with a provider' }).waitFor()
    await reader.page.locator('[data-testid="presence-user"]', { hasText: 'Wes Writer' }).waitFor()
    await writer.page.locator('[data-testid="presence-user"]', { hasText: 'Rita Reader' }).waitFor()
    await writer.page.keyboard.type(', live')
    await reader.page.locator('.ProseMirror', { hasText: 'signed in with a provider, live' }).waitFor()
  })

  it('a token from another issuer is refused with a reason, for good', async () => {
    const t = await signWith(key, { sub: 'x', iss: 'https://elsewhere.test/', aud: 'quire', 'https://quire.test/allowed': ['*'] })
    const { page } = await suite.open(`/d/idp/notes?token=${t}`)
    await waitStatus(page, 'offline')
    await page.locator('.quire-problem', { hasText: 'Your sign-in is missing or has expired.' }).waitFor()
    expect(await page.locator('.ProseMirror').textContent()).not.toContain('signed in')
  })
})
