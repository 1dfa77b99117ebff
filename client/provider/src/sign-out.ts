/**
 * Signing a person out of one server in this browser: every tab of theirs
 * is told on their scope channel (local-keys.ts) to empty its editor and let
 * go of its copy, then every local copy of theirs is deleted. Works with no
 * editor mounted (an application's own sign-out page).
 */
import { identityOf, identityOfSub, scopeChannelOf, scopeOf, type LocalIdentity } from './local-keys.js'
import { deleteScope } from './local-copy.js'
import { toWebSocketBase } from './server-url.js'

/** Posted on a person's scope channel: they signed out in some tab. */
export const SIGNED_OUT = 'signed-out'

export interface ClearUserDataOptions {
  /** The Quire server, as given to the editor (`wss://…`). */
  server: string
  /** The person's token (its `sub` is who they are); without one, the anonymous (open mode) copies. */
  token?: string | null
  /** Their `sub`, instead of a token. */
  identity?: string
}

/** Delete every local copy one person has of this server's documents, and empty their open editors. Returns the databases deleted. */
export function clearUserData (opts: ClearUserDataOptions): Promise<string[]> {
  return signOutIdentity(toWebSocketBase(opts.server), opts.identity ? identityOfSub(opts.identity) : identityOf(opts.token))
}

/** `server` as toWebSocketBase gives it. */
export async function signOutIdentity (server: string, identity: LocalIdentity): Promise<string[]> {
  const scope = scopeOf(server, identity)
  if (typeof BroadcastChannel !== 'undefined') {
    // Their other tabs let go of their copies, so the deletion is not held up, and empty their editors.
    const channel = new BroadcastChannel(scopeChannelOf(scope))
    channel.postMessage(SIGNED_OUT)
    channel.close()
  }
  return deleteScope(scope)
}
