/**
 * @hocuspocus/server in its own process (hocuspocus-main.js): one instance
 * storing documents as files, or two instances on one Redis with
 * @hocuspocus/extension-redis and the same file storage.
 */
import { fromRoot, tempDir } from '../../harness/paths.js'
import { freePort } from '../../harness/ports.js'
import { startInstance, type Instance } from '../../harness/instance.js'
import { profileArgs } from './profile.js'
import { startBenchRedis } from './redis.js'
import { makeServer, type ServerUnderTest } from './server.js'

async function hocuspocusInstance (label: string, dataDir: string, redisPort: number | null): Promise<Instance> {
  const port = await freePort()
  return startInstance({
    label,
    command: process.execPath,
    args: [...profileArgs(label), fromRoot('dist', 'bench', 'servers', 'hocuspocus-main.js')],
    env: {
      PORT: String(port),
      DATA_DIR: dataDir,
      ...(redisPort === null ? {} : { REDIS_PORT: String(redisPort) }),
      NODE_ENV: 'production',
    },
    port,
    cwd: fromRoot(),
  })
}

export async function startHocuspocus (): Promise<ServerUnderTest> {
  const instance = await hocuspocusInstance('hocuspocus', tempDir('bench-hocuspocus'), null)
  return makeServer('hocuspocus', 'Hocuspocus', 'hocuspocus', [instance], null)
}

export async function startHocuspocusRedis (): Promise<ServerUnderTest> {
  const redis = await startBenchRedis('redis (hocuspocus)')
  const dir = tempDir('bench-hocuspocus-redis')
  try {
    const a = await hocuspocusInstance('hocuspocus A', dir, redis.port)
    const b = await hocuspocusInstance('hocuspocus B', dir, redis.port).catch(async (err) => { await a.stop(); throw err })
    return makeServer('hocuspocus-redis', 'Hocuspocus ×2 + Redis', 'hocuspocus', [a, b], redis)
  } catch (err) {
    await redis.stop()
    throw err
  }
}
