/**
 * Names of what the browser keeps per person (client/provider/src/local-keys.ts):
 * keyed by the token's `sub`, the server and the document; anonymous in open
 * mode; hashed so no name shows a user id or a document; and the token user
 * the editor shows (its `sub` and `name`).
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ANONYMOUS, databasePrefix, hashHex, identityOf, identityOfSub, localKeys, scopeOf } from '../../client/provider/src/local-keys.js'
import { tokenUser } from '../../client/provider/src/token.js'
import { toWebSocketBase } from '../../client/provider/src/server-url.js'
import { normalizeUser, userFromToken } from '../../client/editor/src/user.js'
import { mintToken } from '../helpers/tokens.js'

const SERVER = 'ws://127.0.0.1:1234'

/** An unsigned JWT: the client never verifies, so the signature does not matter here. */
const jwt = (claims: Record<string, unknown>): string => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`

describe('identity of a token', () => {
  it('is the sub, whatever else the token says or whoever signed it', async () => {
    const a1 = await mintToken({ sub: 'alice', name: 'Alice', allowedDocumentNames: ['*'] })
    const a2 = await mintToken({ sub: 'alice', name: 'Alice B.', readonlyDocumentNames: ['x'] }, { secret: 'another-secret-0123456789' })
    expect(identityOf(a1)).toBe(identityOfSub('alice'))
    expect(identityOf(a2)).toBe(identityOf(a1))
    expect(identityOf(await mintToken({ sub: 'bob' }))).not.toBe(identityOf(a1))
  })

  it('is anonymous without a token, and a sub called "anonymous" is not', () => {
    expect(identityOf(undefined)).toBe(ANONYMOUS)
    expect(identityOf(null)).toBe(ANONYMOUS)
    expect(identityOf('')).toBe(ANONYMOUS)
    expect(identityOf(jwt({ sub: 'anonymous' }))).not.toBe(ANONYMOUS)
  })

  it('counts a token without a sub (or not a JWT) as no token: it opens only what a page without one could', () => {
    expect(identityOf(jwt({ name: 'Mallory' }))).toBe(ANONYMOUS)
    expect(identityOf(jwt({ sub: '' }))).toBe(ANONYMOUS)
    expect(identityOf(jwt({ sub: 42 }))).toBe(ANONYMOUS)
    expect(identityOf('garbage')).toBe(ANONYMOUS)
  })
})

describe('local keys', () => {
  const alice = identityOfSub('alice')
  const bob = identityOfSub('bob')

  it('differ by person, server and document', () => {
    const base = localKeys(SERVER, alice, 'team/notes')
    const others = [
      localKeys(SERVER, bob, 'team/notes'),
      localKeys(SERVER, ANONYMOUS, 'team/notes'),
      localKeys('ws://127.0.0.1:1235', alice, 'team/notes'),
      localKeys(SERVER, alice, 'team/notes2'),
    ]
    for (const other of others) {
      expect(other.database).not.toBe(base.database)
      expect(other.channel).not.toBe(base.channel)
    }
    // Scope: the person and the server, not the document.
    expect(others[3].scope).toBe(base.scope)
    expect(others[3].scopeChannel).toBe(base.scopeChannel)
    expect(others[0].scope).not.toBe(base.scope)
    expect(others[2].scope).not.toBe(base.scope)
  })

  it('are stable, and every database of a scope starts with its prefix', () => {
    expect(localKeys(SERVER, alice, 'team/notes')).toEqual(localKeys(SERVER, alice, 'team/notes'))
    const { scope, database } = localKeys(SERVER, alice, 'team/notes')
    expect(scope).toBe(scopeOf(SERVER, alice))
    expect(database.startsWith(databasePrefix(scope))).toBe(true)
    expect(localKeys(SERVER, bob, 'team/notes').database.startsWith(databasePrefix(scope))).toBe(false)
  })

  it('show neither the user id nor the document nor the server', () => {
    const keys = localKeys(SERVER, identityOfSub('alice@example.com'), 'secret-plans')
    for (const name of [keys.database, keys.channel, keys.scopeChannel]) {
      expect(name).not.toMatch(/alice|example|secret|plans|127\.0\.0\.1/)
      expect(name).toMatch(/^quire[a-z-]*:[0-9a-f]{32}(:[0-9a-f]{32})?$/)
    }
  })

  it('hash with SHA-256 and keep the parts apart', () => {
    const expected = createHash('sha256').update(JSON.stringify(['a', 'bc'])).digest('hex').slice(0, 32)
    expect(hashHex('a', 'bc')).toBe(expected)
    expect(hashHex('ab', 'c')).not.toBe(hashHex('a', 'bc'))
  })

  it('treat the server the same however it is written', () => {
    expect(toWebSocketBase('http://127.0.0.1:1234/')).toBe(SERVER)
    expect(toWebSocketBase('https://quire.example.com')).toBe('wss://quire.example.com')
  })
})

describe('the user a token sets', () => {
  it('is the sub and the name, else the sub as the name', () => {
    expect(tokenUser(jwt({ sub: 'u-1', name: 'Ada' }))).toEqual({ id: 'u-1', name: 'Ada' })
    expect(tokenUser(jwt({ sub: 'u-1', name: '  ' }))).toEqual({ id: 'u-1', name: null })
    expect(tokenUser(jwt({ name: 'no sub' }))).toBeNull()
    expect(tokenUser(undefined)).toBeNull()
    expect(userFromToken({ id: 'u-1', name: null })).toEqual({ id: 'u-1', name: 'u-1' })
    expect(userFromToken(null)).toEqual({})
  })

  it('wins over what the page says', () => {
    const fromPage = { id: 'mallory', name: 'Someone Else', color: '#123456' }
    const user = normalizeUser({ ...fromPage, ...userFromToken(tokenUser(jwt({ sub: 'u-1', name: 'Ada' }))) })
    expect(user).toEqual({ id: 'u-1', name: 'Ada', color: '#123456' })
  })
})
