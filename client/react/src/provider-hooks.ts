/**
 * Hooks that follow a provider (from useQuireDocument, or any
 * QuireProvider): each re-renders its component when what it returns
 * changes, through useSyncExternalStore, and returns a neutral value while
 * the provider is still null (the first render).
 */
import { useCallback, useSyncExternalStore } from 'react'
import type { ConnectionStatus, ProviderEvents, QuireProvider } from '@quire/provider'

type Awareness = QuireProvider['awareness']

/** One client in the document, as its awareness state says. */
export interface Presence {
  clientId: number
  /** This tab's own state. */
  self: boolean
  /** What the editor publishes (`id`, `name`, `color`); null when the state has no `user`. */
  user: PresenceUser | null
  /** The whole awareness state (carets, typing, whatever the app adds). */
  state: Record<string, unknown>
}

export interface PresenceUser {
  id?: string
  name?: string
  color?: string
}

const NOBODY: readonly Presence[] = Object.freeze([])

/** Everyone in the document (this tab included), re-rendering when anyone's state changes. */
export function usePresence (provider: QuireProvider | null): readonly Presence[] {
  const awareness = provider?.awareness ?? null
  const subscribe = useCallback((changed: () => void) => {
    if (awareness === null) return () => {}
    awareness.on('change', changed)
    return () => awareness.off('change', changed)
  }, [awareness])
  return useSyncExternalStore(subscribe, () => presenceOf(awareness), () => NOBODY)
}

/** `connecting`, `connected` or `offline` (`connecting` while the provider is null). */
export function useConnectionStatus (provider: QuireProvider | null): ConnectionStatus {
  return useProviderValue(provider, 'status', (p) => p.status, 'connecting')
}

/** Whether every local edit is stored on the server (true while the provider is null: nothing was edited). */
export function useSaved (provider: QuireProvider | null): boolean {
  return useProviderValue(provider, 'saved', (p) => p.saved, true)
}

function useProviderValue<T> (provider: QuireProvider | null, event: keyof ProviderEvents, read: (p: QuireProvider) => T, fallback: T): T {
  const subscribe = useCallback((changed: () => void) => {
    if (provider === null) return () => {}
    provider.on(event, changed)
    return () => provider.off(event, changed)
  }, [provider, event])
  const value = (): T => provider === null ? fallback : read(provider)
  return useSyncExternalStore(subscribe, value, () => fallback)
}

/**
 * The presence list of an awareness, the same array until its states
 * change (useSyncExternalStore compares snapshots by identity). The awareness
 * map is mutated in place, so the list is rebuilt on its 'change' event,
 * which this module listens to before any component does.
 */
const presenceLists = new WeakMap<Awareness, readonly Presence[]>()

function presenceOf (awareness: Awareness | null): readonly Presence[] {
  if (awareness === null) return NOBODY
  let list = presenceLists.get(awareness)
  if (list === undefined) {
    list = readPresence(awareness)
    presenceLists.set(awareness, list)
    awareness.on('change', () => presenceLists.set(awareness, readPresence(awareness)))
  }
  return list
}

function readPresence (awareness: Awareness): readonly Presence[] {
  const self = awareness.clientID
  return Object.freeze([...awareness.getStates()].map(([clientId, state]) => ({
    clientId,
    self: clientId === self,
    user: isObject(state.user) ? state.user as PresenceUser : null,
    state,
  })))
}

function isObject (value: unknown): boolean {
  return value !== null && typeof value === 'object'
}
