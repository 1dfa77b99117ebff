/**
 * Every wait in the tests has a deadline and says what it waited for, so a
 * hang fails as "timed out after N ms waiting for <what>" instead of as a
 * bare test timeout. Anything this process can observe is awaited as an
 * event (`waitOn`, `within`); state held by another process that sends no
 * event (metrics, files, a browser's IndexedDB) is polled (`waitFor`).
 */

/** How long a wait lasts unless its caller says otherwise: far above any healthy wait, well below the test timeout. */
export const DEADLINE_MS = 15_000

/**
 * A fixed pause: only to let a fault last, or to show that something does
 * NOT happen within it, never to wait for something that has an event. Give
 * the duration a name and say why at the call.
 */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const timedOut = (ms: number, what: string): string => `timed out after ${ms} ms waiting for ${what}`

/** Poll `probe` (backing off to 100 ms) until `done` holds for its value. */
export async function waitFor<T> (probe: () => T | Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    last = await probe()
    if (done(last)) return last
    if (Date.now() > deadline) throw new Error(`${timedOut(timeoutMs, what)}; last value: ${JSON.stringify(last)}`)
    await sleep(delay)
  }
}

/** Rejects with a message naming `what` if `promise` does not settle in time. */
export function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(timedOut(ms, what))), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Resolves with the first value other than undefined that `probe` returns,
 * tried at once and again on every event: `listen(onEvent)` subscribes and
 * returns how to unsubscribe, which happens however the wait ends.
 */
export function waitOn<T> (listen: (onEvent: () => void) => () => void, probe: () => T | undefined, what: string, timeoutMs = DEADLINE_MS): Promise<T> {
  let unlisten = (): void => {}
  const met = new Promise<T>((resolve, reject) => {
    const check = (): void => {
      try {
        const value = probe()
        if (value !== undefined) resolve(value)
      } catch (err) {
        reject(err)
      }
    }
    unlisten = listen(check)
    check()
  })
  return within(met, timeoutMs, what).finally(() => unlisten())
}

/** `waitOn` for a condition rather than a value. */
export async function waitUntil (listen: (onEvent: () => void) => () => void, holds: () => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
  await waitOn(listen, () => holds() || undefined, what, timeoutMs)
}
