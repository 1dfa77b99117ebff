/**
 * Who is in a set of documents and what changed there lately, live, from
 * the server's event stream (GET /api/events, docs/events.md) through one
 * EventSource: no sync socket per document. A `reset` replaces what we
 * knew; join, leave and change events update it; EventSource reconnects by
 * itself and the server catches it up (Last-Event-ID) or resets it.
 */

export interface DocActivity {
  /** User id -> name, of everyone in the document now. */
  users: Map<string, string>
  /** The last change reported: when, and by whom where known. */
  lastChange: { at: number, by: Array<{ id: string, name: string }> } | null
}

interface Snapshot { doc: string, users: Array<{ id: string, name: string }>, lastChange: DocActivity['lastChange'] }
/** An event's data as the server sends it (docs/events.md, "Events"). */
interface EventData { doc?: unknown, user?: { id?: unknown, name?: unknown }, at?: unknown, by?: unknown, docs?: Snapshot[] }

/** The event stream's URL on the server at `server` (a ws:// or http:// base). */
export function eventsUrl (server: string, docs: string[], token: string | null): string {
  const base = server.replace(/^ws/, 'http')
  const query = `docs=${docs.map(encodeURIComponent).join(',')}${token ? `&token=${encodeURIComponent(token)}` : ''}`
  return `${base}/api/events?${query}`
}

/**
 * Follow `docs`: `changed(doc, activity)` on every change of one of them.
 * Returns the stop.
 */
export function watchActivity (url: string, docs: string[], changed: (doc: string, activity: DocActivity) => void): () => void {
  const state = new Map<string, DocActivity>(docs.map((d) => [d, { users: new Map(), lastChange: null }]))
  const source = new EventSource(url)
  const parse = (e: Event): EventData => {
    try {
      return JSON.parse((e as MessageEvent<string>).data) as EventData
    } catch {
      return {}
    }
  }
  const update = (doc: unknown, fn: (a: DocActivity) => void): void => {
    const activity = typeof doc === 'string' ? state.get(doc) : undefined
    if (activity === undefined) return
    fn(activity)
    changed(doc as string, activity)
  }
  source.addEventListener('reset', (e) => {
    for (const snap of parse(e).docs ?? []) {
      update(snap.doc, (a) => {
        a.users = new Map(snap.users.map((u) => [u.id, u.name]))
        a.lastChange = snap.lastChange
      })
    }
  })
  source.addEventListener('join', (e) => {
    const data = parse(e)
    update(data.doc, (a) => { a.users.set(String(data.user?.id), String(data.user?.name)) })
  })
  source.addEventListener('leave', (e) => {
    const data = parse(e)
    update(data.doc, (a) => { a.users.delete(String(data.user?.id)) })
  })
  source.addEventListener('change', (e) => {
    const data = parse(e)
    update(data.doc, (a) => { a.lastChange = { at: Number(data.at), by: Array.isArray(data.by) ? data.by as Array<{ id: string, name: string }> : [] } })
  })
  return () => source.close()
}

/** "2 editing now", or "" when nobody is. */
export function editingText (count: number): string {
  return count === 0 ? '' : `${count} editing now`
}

/** "changed by Ann and Bob 3 minutes ago", "changed just now", or "". */
export function changeText (change: DocActivity['lastChange'], now = Date.now()): string {
  if (change === null) return ''
  const names = change.by.map((u) => u.name)
  const who = names.length === 0 ? '' : names.length <= 2 ? ` by ${names.join(' and ')}` : ` by ${names[0]} and ${names.length - 1} others`
  return `changed${who} ${now - change.at < 60_000 ? 'just now' : relativeTime(change.at, now)}`
}

/** "5 minutes ago", "in 2 hours", "yesterday". */
export function relativeTime (at: number, now = Date.now()): string {
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
  const minutes = Math.round((at - now) / 60_000)
  if (Math.abs(minutes) < 60) return format.format(minutes, 'minute')
  const hours = Math.round(minutes / 60)
  if (Math.abs(hours) < 24) return format.format(hours, 'hour')
  return format.format(Math.round(hours / 24), 'day')
}
