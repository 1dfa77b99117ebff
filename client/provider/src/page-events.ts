/** The page around a provider: online and offline, a tab becoming visible, a page hidden or shown again (back/forward cache). */

export interface PageHandlers {
  online (): void
  offline (): void
  visible (): void
  pagehide (): void
  /** `persisted`: the page comes back from the back/forward cache. */
  pageshow (persisted: boolean): void
}

/** Listen to the page (when there is one); returns how to stop. */
export function listenToPage (handlers: PageHandlers): () => void {
  const unlisten: Array<() => void> = []
  const on = (target: EventTarget | undefined, type: string, handler: (e: Event) => void): void => {
    if (!target?.addEventListener) return
    target.addEventListener(type, handler)
    unlisten.push(() => target.removeEventListener(type, handler))
  }
  const win = typeof window === 'undefined' ? undefined : window
  const doc = typeof document === 'undefined' ? undefined : document
  on(win, 'online', handlers.online)
  on(win, 'offline', handlers.offline)
  on(doc, 'visibilitychange', () => {
    if (doc?.visibilityState === 'visible') handlers.visible()
  })
  on(win, 'pagehide', handlers.pagehide)
  on(win, 'pageshow', (e) => handlers.pageshow((e as PageTransitionEvent).persisted))
  return () => { for (const off of unlisten) off() }
}
