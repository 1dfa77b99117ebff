/**
 * What the webhooks watch on every loaded document: its changes made
 * through this instance (document.changed, with the users whose edits they
 * are: an update's Yjs client ids are its authors' awareness client ids)
 * and who is present through this instance (user.joined / user.left).
 */
import * as Y from 'yjs'
import type { SharedDocument } from '../document/document.js'
import { userOfState, type WebhookUser } from './events.js'
import type { ChangeReporter } from './changes.js'
import type { PresenceWatch } from './presence.js'

export interface WatchDeps {
  changes: ChangeReporter
  presence: PresenceWatch
  /** Whether any endpoint wants document.changed now (else changes are not even looked at). */
  wantsChanges (): boolean
}

export function watchDocument (doc: SharedDocument, deps: WatchDeps): void {
  // This instance's awareness states, parsed once per new JSON text (renewals keep the text).
  const states = new Map<number, { json: string, user: WebhookUser | null }>()
  doc.onUsers((present) => {
    const seen = new Set<number>()
    const users = new Map<string, WebhookUser>()
    for (const { clientId, json, here } of present) {
      if (!here) continue
      seen.add(clientId)
      let state = states.get(clientId)
      if (state === undefined || state.json !== json) states.set(clientId, state = { json, user: userOfState(json) })
      if (state.user !== null) users.set(state.user.id, state.user)
    }
    for (const id of states.keys()) if (!seen.has(id)) states.delete(id)
    deps.presence.update(doc.name, [...users.values()])
  })
  doc.observe((updates, origin) => {
    if (origin !== 'local' || !deps.wantsChanges()) return
    const authors = new Map<string, WebhookUser>()
    for (const update of updates) {
      let clients: Iterable<number>
      try {
        clients = Y.parseUpdateMeta(update).from.keys()
      } catch {
        continue // durable, so it parsed before: cannot happen
      }
      for (const client of clients) {
        const user = states.get(client)?.user
        if (user) authors.set(user.id, user)
      }
    }
    deps.changes.changed(doc.name, [...authors.values()])
  })
}
