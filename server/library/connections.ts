/**
 * `onConnect` and `onDisconnect` (docs/server-library.md, "Hooks"): each
 * connection of this instance once admitted, and once closed, with how many
 * the document has here then.
 */
import type { ConnectionLifecycle } from '../transport/endpoint.js'
import type { Connection } from '../transport/connection.js'
import type { Logger } from '../ops/log.js'
import { runHook } from './run-hook.js'

export interface ConnectionEvent {
  documentName: string
  /** As authenticate (or the token) said; `anonymous` in open mode. */
  user: { userId: string, name?: string, access: 'read' | 'write' }
  /** Connections to the document on this instance, this one included on connect and no longer on disconnect. */
  connections: number
}

export type ConnectionHook = (event: ConnectionEvent) => void | Promise<void>

export interface ConnectionHooks {
  onConnect?: ConnectionHook
  onDisconnect?: ConnectionHook
}

export function connectionLifecycle (hooks: ConnectionHooks, log: Logger): ConnectionLifecycle | undefined {
  if (hooks.onConnect === undefined && hooks.onDisconnect === undefined) return undefined
  const counts = new Map<string, number>()
  const eventOf = (conn: Connection, connections: number): ConnectionEvent => {
    const { identity, docName } = conn.opts
    const user = identity.name === undefined
      ? { userId: identity.userId, access: identity.access === 'read' ? 'read' as const : 'write' as const }
      : { userId: identity.userId, name: identity.name, access: identity.access === 'read' ? 'read' as const : 'write' as const }
    return { documentName: docName, user, connections }
  }
  return {
    opened (conn) {
      const n = (counts.get(conn.opts.docName) ?? 0) + 1
      counts.set(conn.opts.docName, n)
      void runHook(log, 'onConnect', hooks.onConnect, eventOf(conn, n), { doc: conn.opts.docName })
    },
    closed (conn) {
      const n = (counts.get(conn.opts.docName) ?? 1) - 1
      if (n === 0) counts.delete(conn.opts.docName)
      else counts.set(conn.opts.docName, n)
      void runHook(log, 'onDisconnect', hooks.onDisconnect, eventOf(conn, n), { doc: conn.opts.docName })
    },
  }
}
