/**
 * A Quire instance inside the test process, on a store the test controls
 * (slow, failing): for what a real process cannot be made to do on demand.
 */
import { createQuire, type Quire } from '../../server/app.js'
import { loadConfig } from '../../server/config.js'
import { createLogger } from '../../server/ops/log.js'
import { LocalBus } from '../../server/backend/bus.js'
import type { DocStore } from '../../server/backend/store.js'
import { QUICK_DRAIN } from './env-presets.js'

export interface InProcessQuire { quire: Quire, port: number, wsUrl: string, url: string }

export async function startInProcess (store: DocStore, env: Record<string, string> = {}): Promise<InProcessQuire> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...QUICK_DRAIN, ...env })
  const quire = await createQuire(config, createLogger(config.LOG_LEVEL), { store, bus: new LocalBus() })
  const port = await quire.listen()
  return { quire, port, wsUrl: `ws://127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` }
}
