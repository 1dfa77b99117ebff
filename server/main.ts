/**
 * Entry point of `npm start` and `npx quire` (cli.ts): read the configuration, start serving, drain
 * once on SIGTERM/SIGINT (however many arrive). Exit codes
 * (docs/configuration.md, "Stopping and exit codes"): 0 once drained or when
 * the drain outlasts SHUTDOWN_TIMEOUT_MS, 1 when it fails, 2 on a bad configuration.
 */
import { ConfigError, loadConfig } from './config.js'
import type { QuireServer } from './library/index.js'

let quire: QuireServer
try {
  // A bad variable stops the process before the server's modules load (they take most of a second).
  loadConfig()
  const { createQuireServer } = await import('./library/index.js')
  quire = await createQuireServer({ env: process.env })
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`quire: ${err.message}\n`)
    process.exit(2)
  }
  throw err
}

const { config, logger: log } = quire
const port = await quire.listen()
log.info({ port, host: config.HOST }, 'quire listening')

let stopping = false
const stop = (signal: string): void => {
  if (stopping) return
  stopping = true
  log.info({ signal, graceMs: config.DRAIN_GRACE_MS, spreadMs: config.DRAIN_SPREAD_MS, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'draining')
  const deadline = setTimeout(() => {
    log.warn({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'drain timed out; exiting')
    process.exit(0)
  }, config.SHUTDOWN_TIMEOUT_MS)
  deadline.unref()
  quire.close().then(() => {
    log.info('drained; bye')
    process.exit(0)
  }, (err) => {
    log.error({ err }, 'drain failed')
    process.exit(1)
  })
}
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught exception')
  process.exit(1)
})
process.on('unhandledRejection', (err) => {
  log.error({ err }, 'unhandled rejection')
})
