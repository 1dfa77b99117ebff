/**
 * Version history for one instance (docs/history.md), from the
 * configuration: the History service, automatic versions following every
 * loaded document, and the HTTP routes. server/app.ts calls this once.
 */
import type { Config } from '../config.js'
import type { DocStore } from '../backend/store.js'
import type { DocumentRegistry } from '../document/registry.js'
import type { Authenticator } from '../auth/token.js'
import type { Metrics } from '../ops/metrics.js'
import type { Logger } from '../ops/log.js'
import { History } from './history.js'
import { AutoVersions } from './auto.js'
import { createVersionRoutes } from './routes.js'

export interface HistorySetupDeps {
  config: Config
  store: DocStore
  registry: DocumentRegistry
  auth: Authenticator
  metrics: Metrics
  log: Logger
}

export function setUpHistory ({ config, store, registry, auth, metrics, log }: HistorySetupDeps) {
  const history = new History({
    store,
    metrics,
    log,
    retention: {
      keepAllMs: config.HISTORY_KEEP_ALL_MS,
      hourlyMs: config.HISTORY_HOURLY_MS,
      dailyMs: config.HISTORY_DAILY_MS,
      maxVersions: config.HISTORY_MAX_VERSIONS,
    },
  })
  if (config.HISTORY_AUTO === 'on') {
    new AutoVersions(history, store, log, {
      quietMs: config.HISTORY_QUIET_MS,
      maxIntervalMs: config.HISTORY_MAX_INTERVAL_MS,
      timers: metrics.timersActive,
    }).start(registry)
  }
  const handleVersions = createVersionRoutes({ registry, history, access: { apiKey: config.API_KEY, auth }, metrics, log })
  return { history, handleVersions }
}
