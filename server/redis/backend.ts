/** Placeholder until the Redis store lands (issue 3). */
import type { Config } from '../config.js'
import type { Logger } from '../ops/log.js'
import type { Backend } from '../backend.js'

export async function createRedisBackend (_config: Config, _log: Logger): Promise<Backend> {
  throw new Error('Redis support is not built yet')
}
