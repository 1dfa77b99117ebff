/**
 * The raw relay (raw-relay.ts) in its own process: listens on
 * 127.0.0.1:PORT, keeps documents in DATA_DIR across a SIGTERM.
 */
import { serveRawRelay } from './raw-relay.js'

const relay = serveRawRelay({ host: '127.0.0.1', port: Number(process.env.PORT), dataDir: process.env.DATA_DIR })

const stop = (): void => {
  relay.persist()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
