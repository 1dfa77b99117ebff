/**
 * Tokens in the web app (`?token=`): a read-only token gives a document that
 * shows but cannot be edited; a token for other documents gets a clear
 * message and no reconnect loop.
 */
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { browserSuite, waitStatus } from './harness.js'

const SECRET = 'browser-access-secret-0123456789'
const suite = browserSuite({ AUTH_SECRET: SECRET })

const token = (claims: Record<string, unknown>): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('reader').sign(new TextEncoder().encode(SECRET))

describe('access from the token', () => {
  it('read-only documents cannot be edited', async () => {
    const t = await token({ name: 'Rita Reader', readonlyDocumentNames: ['access/*'] })
    const { page } = await suite.open(`/d/access/read?token=${t}`)
    await page.locator('[data-testid="connection-status"][data-status="connected"][data-access="read"]').waitFor()
    await page.locator('.ProseMirror[contenteditable="false"]').waitFor()
    await expect(page.locator('[data-testid="connection-status"]').textContent()).resolves.toContain('Read only')
    // The name comes from the token.
    await page.locator('[data-testid="presence-user"][data-self="true"]', { hasText: 'Rita Reader' }).waitFor()
    expect(await page.locator('[data-tool="bold"]').isDisabled()).toBe(true)
  })

  it('a token for other documents is refused with a reason, for good', async () => {
    const t = await token({ allowedDocumentNames: ['elsewhere/*'] })
    const { page } = await suite.open(`/d/access/secret?token=${t}`)
    await waitStatus(page, 'offline')
    await page.locator('.quire-problem', { hasText: 'You do not have access to this document.' }).waitFor()
  })
})
