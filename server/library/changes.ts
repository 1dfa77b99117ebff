/**
 * `onChange` (docs/server-library.md, "Hooks"): a document's changes made
 * through this instance, debounced per document like the document.changed
 * webhook (webhooks/changes.ts): once quiet for `onChangeDebounceMs`, at the
 * latest `onChangeMaxWaitMs` after the first change, and before the
 * document unloads (so a drain reports everything). The hook gets the whole
 * document, durable, and who changed it since its last call.
 */
import type { Gauge } from 'prom-client'
import type { DocumentRegistry } from '../document/registry.js'
import type { SharedDocument } from '../document/document.js'
import { ChangeReporter } from '../webhooks/changes.js'
import type { WebhookUser } from '../webhooks/events.js'
import type { Logger } from '../ops/log.js'
import { runHook } from './run-hook.js'

export interface ChangeEvent {
  documentName: string
  /** The whole document as one Yjs update (`Y.applyUpdate(new Y.Doc(), state)`), everything in it durable. */
  state: Uint8Array
  /** Who sent the changes since the last call (verified users: a token's or the authenticate hook's); empty for changes made by the server. */
  users: Array<{ userId: string, name?: string }>
}

export type ChangeHook = (event: ChangeEvent) => void | Promise<void>

export interface ChangeHookOptions {
  onChange: ChangeHook
  debounceMs: number
  maxWaitMs: number
}

export function followChanges (registry: DocumentRegistry, options: ChangeHookOptions, timers: Gauge, log: Logger): void {
  const loaded = new Map<string, SharedDocument>()
  const running = new Map<string, Promise<void>>()
  const report = (name: string, users: WebhookUser[]): void => {
    const doc = loaded.get(name)
    if (doc === undefined) return
    const previous = running.get(name) ?? Promise.resolve()
    // One call per document at a time, in order.
    const next = previous.then(async () => {
      let state: Uint8Array
      try {
        state = await doc.readState()
      } catch (err) {
        log.error({ err, doc: name }, 'onChange: reading the document failed')
        return
      }
      const named = users.map((u) => u.name === undefined ? { userId: u.id } : { userId: u.id, name: u.name })
      await runHook(log, 'onChange', options.onChange, { documentName: name, state, users: named }, { doc: name })
    })
    running.set(name, next)
    void next.then(() => { if (running.get(name) === next) running.delete(name) })
  }
  const reporter = new ChangeReporter({ debounceMs: options.debounceMs, maxWaitMs: options.maxWaitMs, timers, report })
  registry.watch({
    loaded (doc) {
      loaded.set(doc.name, doc)
      doc.observe((_updates, origin, authors) => {
        if (origin !== 'local') return
        const users: WebhookUser[] = []
        for (const author of authors) if (author?.user) users.push({ ...author.user })
        reporter.changed(doc.name, users)
      })
      return async () => {
        reporter.flush(doc.name)
        await running.get(doc.name)
      }
    },
    unloaded (doc) {
      if (loaded.get(doc.name) === doc) loaded.delete(doc.name)
    },
  })
}
