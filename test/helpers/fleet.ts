/**
 * The Quire processes and stock clients one test file starts, so that all of
 * them are stopped after it (register `stopAll` with afterAll).
 */
import { startQuire, type QuireProcess } from '../../harness/quire.js'
import { connectClient, type TestClient } from './clients.js'

export interface Fleet {
  start (env?: Record<string, string>): Promise<QuireProcess>
  client (q: QuireProcess, doc: string): TestClient
  /** Kill a process (SIGKILL unless told otherwise) and stop tracking it; resolves with its exit code. */
  stop (q: QuireProcess, signal?: NodeJS.Signals): Promise<number | null>
  /** A process that exited by itself (e.g. after SIGTERM) needs no stopping. */
  forget (q: QuireProcess): void
  stopAll (): Promise<void>
}

export function fleet (): Fleet {
  const running = new Set<QuireProcess>()
  const clients: TestClient[] = []
  return {
    async start (env = {}) {
      const q = await startQuire(env)
      running.add(q)
      return q
    },
    client (q, doc) {
      const c = connectClient(q.wsUrl, doc)
      clients.push(c)
      return c
    },
    async stop (q, signal = 'SIGKILL') {
      running.delete(q)
      return q.kill(signal)
    },
    forget: (q) => { running.delete(q) },
    async stopAll () {
      for (const c of clients) c.destroy()
      await Promise.all([...running].map((q) => q.kill()))
    },
  }
}
