/**
 * Waiting for state held by another process (metrics, files), which sends no
 * event: poll, bounded. Anything this process can observe is awaited as an
 * event instead (see clients.ts).
 */
export async function waitFor<T> (probe: () => T | Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    last = await probe()
    if (done(last)) return last
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

/** Rejects with a message naming `what` if `promise` does not settle in time. */
export function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
