/** Waits on Quire's own provider (client/provider/src/quire-provider.ts), with a deadline (wait.ts). */
import type { QuireProvider, ProviderEvents } from '../../client/provider/src/quire-provider.js'
import { DEADLINE_MS, waitOn } from './wait.js'

/** Resolves with the value of `test` once it is neither false, null nor undefined: at once, or on an event `name`. */
export function whenProvider<T> (p: QuireProvider, name: keyof ProviderEvents, test: () => T | false | null | undefined, what: string, timeoutMs = DEADLINE_MS): Promise<T> {
  return waitOn((on) => {
    p.on(name, on)
    return () => p.off(name, on)
  }, () => {
    const value = test()
    return value === false || value === null ? undefined : value
  }, what, timeoutMs)
}
