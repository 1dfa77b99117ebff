/** The client's pure parts: backoff, saved state, typing signal and text, presence, tokens. */
import * as Y from 'yjs'
import { Awareness } from 'y-protocols/awareness'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { backoffDelay } from '../../common/backoff.js'
import { SavedState } from '../../client/provider/src/saved-state.js'
import { tokenClaims, tokenExpiry } from '../../client/provider/src/token.js'
import { presentUsers, TypingSignal, typingText } from '../../client/editor/src/typing.js'
import { initials, normalizeUser } from '../../client/editor/src/user.js'
import { describeRefusal } from '../../client/editor/src/status.js'
import { CLOSE, CLOSE_REASONS, RATE_LIMIT_REASONS } from '../../common/close-codes.js'

describe('backoffDelay', () => {
  it('is uniformly random below a doubling bound, capped', () => {
    const opts = { baseMs: 500, maxMs: 10_000 }
    expect(backoffDelay(0, opts, () => 0)).toBe(0)
    expect(backoffDelay(0, opts, () => 0.999)).toBe(499)
    expect(backoffDelay(3, opts, () => 0.999)).toBe(3996)
    expect(backoffDelay(50, opts, () => 0.999)).toBe(9990)
  })
})

describe('SavedState', () => {
  const make = (): { s: SavedState, changes: boolean[] } => {
    const changes: boolean[] = []
    return { s: new SavedState((saved) => changes.push(saved)), changes }
  }

  it('is saved when every counted message is acknowledged after answering the server', () => {
    const { s, changes } = make()
    s.connectionOpened()
    s.firstMessage(true)
    s.messageSent(true) // our sync step 2
    expect(s.saved).toBe(false)
    s.acknowledged(1)
    expect(s.saved).toBe(true)
    s.localChange()
    s.messageSent(false)
    s.localChange()
    s.messageSent(false)
    s.acknowledged(2)
    expect(s.saved).toBe(false)
    s.acknowledged(3)
    expect(s.saved).toBe(true)
    expect(changes).toEqual([false, true, false, true])
  })

  it('keeps a change unconfirmed across a lost connection until a new one acknowledges it', () => {
    const { s } = make()
    s.connectionOpened()
    s.firstMessage(true)
    s.messageSent(true)
    s.localChange()
    s.messageSent(false)
    s.connectionClosed()
    expect(s.saved).toBe(false)
    s.connectionOpened()
    s.firstMessage(true)
    s.acknowledged(5) // nonsense beyond what was sent is ignored
    expect(s.saved).toBe(false)
    s.messageSent(true)
    s.acknowledged(1)
    expect(s.saved).toBe(true)
  })

  it('falls back to "sent" against a server that does not acknowledge', () => {
    const { s } = make()
    s.localChange()
    s.connectionOpened()
    s.firstMessage(false)
    s.messageSent(true)
    expect(s.saved).toBe(true)
  })
})

describe('typing', () => {
  afterEach(() => { vi.useRealTimers() })

  it('renders who is typing', () => {
    expect(typingText([])).toBe('')
    expect(typingText(['Alice'])).toBe('Alice is typing…')
    expect(typingText(['Alice', 'Bob'])).toBe('Alice and Bob are typing…')
    expect(typingText(['Alice', 'Bob', 'Carol'])).toBe('3 people are typing…')
  })

  it('sets the field on input, at most once a second, and clears it after 3 s idle or on stop', () => {
    vi.useFakeTimers()
    const doc = new Y.Doc()
    const awareness = new Awareness(doc)
    const updates: boolean[] = []
    awareness.on('change', () => updates.push(awareness.getLocalState()?.typing === true))
    const typing = new TypingSignal(awareness)
    typing.input()
    typing.input()
    expect(updates).toEqual([true])
    vi.advanceTimersByTime(2999)
    typing.input() // still typing: nothing new to say
    expect(updates).toEqual([true])
    vi.advanceTimersByTime(3000)
    expect(updates).toEqual([true, false])
    vi.advanceTimersByTime(1000)
    typing.input() // a second after the last change: at once
    typing.stop() // within a second of it: deferred
    expect(updates).toEqual([true, false, true])
    vi.advanceTimersByTime(1000)
    expect(updates).toEqual([true, false, true, false])
    typing.destroy()
    awareness.destroy()
  })

  it('lists each person once, ourselves first', () => {
    const doc = new Y.Doc()
    const awareness = new Awareness(doc)
    awareness.setLocalState({ user: { id: 'me', name: 'Zoe', color: '#000000' } })
    const remote = new Awareness(new Y.Doc())
    remote.setLocalState({ user: { id: 'b', name: 'Bob', color: '#111111' }, typing: true })
    awareness.states.set(remote.clientID, remote.getLocalState()!)
    awareness.states.set(remote.clientID + 1, { user: { id: 'b', name: 'Bob', color: '#111111' } })
    const users = presentUsers(awareness, 'me')
    expect(users.map((u) => [u.name, u.self, u.typing])).toEqual([['Zoe', true, false], ['Bob', false, true]])
    awareness.destroy()
    remote.destroy()
  })
})

describe('users and tokens', () => {
  it('normalizes users and makes initials', () => {
    const u = normalizeUser({ name: '  Ada Lovelace ', color: 'red' })
    expect(u.name).toBe('Ada Lovelace')
    expect(u.color).toMatch(/^#[0-9a-f]{6}$/)
    expect(initials('Ada Lovelace')).toBe('AL')
    expect(initials('alice')).toBe('A')
    expect(initials('Ada Byron King Lovelace')).toBe('AL')
  })

  it('reads exp and claims from a JWT', () => {
    const body = Buffer.from(JSON.stringify({ sub: 'u', name: 'Zoë', exp: 2_000_000_000 })).toString('base64url')
    const token = `e30.${body}.sig`
    expect(tokenExpiry(token)).toBe(2_000_000_000_000)
    expect(tokenClaims(token).name).toBe('Zoë')
    expect(tokenExpiry('not a jwt')).toBeNull()
  })
})

describe('describeRefusal', () => {
  it('says which budget a 4429 was about, and falls back to the code\'s message', () => {
    expect(describeRefusal({ code: CLOSE.rateLimited, reason: RATE_LIMIT_REASONS.connectionsPerUser })).toMatch(/too many places/)
    expect(describeRefusal({ code: CLOSE.rateLimited, reason: RATE_LIMIT_REASONS.connectionsPerAddress })).toMatch(/your network/)
    expect(describeRefusal({ code: CLOSE.rateLimited, reason: RATE_LIMIT_REASONS.messages })).toBe('Too many changes too quickly. Reload to continue.')
    expect(describeRefusal({ code: CLOSE.forbidden, reason: CLOSE_REASONS[CLOSE.forbidden] })).toBe('You do not have access to this document.')
  })
})
