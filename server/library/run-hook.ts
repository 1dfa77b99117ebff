/**
 * Calling a host app's hook: whatever it throws or rejects with is logged
 * and goes no further, so a bug in a hook never ends the server
 * (docs/server-library.md, "Hooks").
 */
import type { Logger } from '../ops/log.js'

/** Resolves once the hook is done, whether it succeeded or not. */
export async function runHook<A> (log: Logger, name: string, hook: ((arg: A) => unknown) | undefined, arg: A, context: Record<string, unknown> = {}): Promise<void> {
  if (hook === undefined) return
  try {
    await hook(arg)
  } catch (err) {
    log.error({ err, hook: name, ...context }, `${name} hook failed`)
  }
}
