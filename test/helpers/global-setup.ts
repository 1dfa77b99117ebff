/**
 * Before any test: the server must be built (npm test builds it) and the
 * real programs the tests drive must be on this machine.
 */
import { existsSync } from 'node:fs'
import { findBinary } from '../../harness/binaries.js'

export default function setup (): void {
  if (!existsSync('dist/server/main.js')) {
    throw new Error('dist/server/main.js is missing: run `npm run build` (npm test does it for you)')
  }
  findBinary('redis-server', 'REDIS_SERVER_BIN', 'redis-server')
  findBinary('chromium', 'CHROMIUM_PATH', 'chromium')
}
