/**
 * Names of what a browser keeps for one person: the IndexedDB copy of a
 * document and the BroadcastChannels between tabs. They are keyed by who is
 * signed in (the token's `sub`, read without verifying: the client cannot
 * verify and only needs a key), the server and the document, so a page
 * signed in as someone else, or not at all, never opens them. The parts are
 * hashed (SHA-256, synchronous: it must also work outside secure contexts,
 * where crypto.subtle is missing), so no name shows a user id or document.
 */
import { digest } from 'lib0/hash/sha256'
import { tokenUser } from './token.js'

/** Who a page is, for its local copies: `user:<sub>`, or `anonymous` without a token (or a `sub`). */
export type LocalIdentity = string

/** Open mode (no token): one shared key for everyone at this browser. */
export const ANONYMOUS: LocalIdentity = 'anonymous'

/** Every database Quire keeps for documents starts with this. */
export const DATABASE_PREFIX = 'quire:'

const HASH_HEX_CHARS = 32

export interface LocalKeys {
  /** One person on one server: their databases share the prefix `quire:<scope>:`. */
  scope: string
  /** The IndexedDB database holding this document for this person. */
  database: string
  /** The BroadcastChannel between this person's tabs on this document. */
  channel: string
  /** The BroadcastChannel between this person's tabs on this server, any document (sign-out). */
  scopeChannel: string
}

/**
 * The identity a token stands for: its `sub`. A token without one (not a
 * JWT: open-mode servers ignore tokens; auth servers refuse it) counts as no
 * token: it opens nothing a page without a token could not open.
 */
export function identityOf (token: string | null | undefined): LocalIdentity {
  const user = tokenUser(token)
  return user ? identityOfSub(user.id) : ANONYMOUS
}

/** The identity of a user id (`sub`) known without a token. */
export function identityOfSub (sub: string): LocalIdentity {
  return `user:${sub}`
}

/** The scope of one person on one server (`server` as the provider normalises it). */
export function scopeOf (server: string, identity: LocalIdentity): string {
  return hashHex('quire-scope', server, identity)
}

export function localKeys (server: string, identity: LocalIdentity, doc: string): LocalKeys {
  const scope = scopeOf(server, identity)
  const docKey = hashHex('quire-doc', scope, doc)
  return {
    scope,
    database: `${databasePrefix(scope)}${docKey}`,
    channel: `quire-tabs:${scope}:${docKey}`,
    scopeChannel: scopeChannelOf(scope),
  }
}

/** The BroadcastChannel between one person's tabs on one server. */
export function scopeChannelOf (scope: string): string {
  return `quire-scope:${scope}`
}

/** The prefix of every database of one scope. */
export function databasePrefix (scope: string): string {
  return `${DATABASE_PREFIX}${scope}:`
}

/** Hex SHA-256 (first 128 bits) of the parts, kept apart so `("ab","c")` and `("a","bc")` differ. */
export function hashHex (...parts: string[]): string {
  const bytes = digest(new TextEncoder().encode(JSON.stringify(parts)))
  let hex = ''
  for (const b of bytes) hex += b.toString(16).padStart(2, '0')
  return hex.slice(0, HASH_HEX_CHARS)
}
