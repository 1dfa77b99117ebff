/**
 * What the webhooks watch on every loaded document: its changes made
 * through this instance (document.changed, with who sent them) and who is
 * present through this instance (user.joined / user.left).
 */
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
  doc.observe((_updates, origin, authors) => {
    if (origin !== 'local' || !deps.wantsChanges()) return
    const users = new Map<string, WebhookUser>()
    for (const author of authors) {
      if (author === null) continue // a change made on the server (the HTTP API): nobody's
      if (author.user !== null) {
        // Auth on: the token's identity, which no client can forge.
        // Named as others see them in the presence (docs/auth.md, "Presence").
        users.set(author.user.id, { id: author.user.id, name: author.user.name ?? author.user.id })
        continue
      }
      // Open mode: whoever the presence of the connection says it is.
      for (const clientId of author.clientIds) {
        const user = states.get(clientId)?.user
        if (user) users.set(user.id, user)
      }
    }
    deps.changes.changed(doc.name, [...users.values()])
  })
}
