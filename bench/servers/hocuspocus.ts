/**
 * @hocuspocus/server in its own process (hocuspocus-main.js): one instance
 * storing documents as files, or two instances on one Redis with
 * @hocuspocus/extension-redis and the same file storage.
 */
import { fromRoot, tempDir, distBench } from '../paths.js'
import { freePort } from '../processes.js'
import { join } from 'node:path'
import { profileArgs, startInstance, type Instance } from './instance.js'
import { startRedis } from './redis.js'
import { makeServer, type ServerUnderTest } from './server.js'

async function hocuspocusInstance (label: string, dataDir: string, redisPort: number | null): Promise<Instance> {
  const port = await freePort()
  return startInstance({
    label,
    command: process.execPath,
    args: [...profileArgs(label), join(distBench, 'servers', 'hocuspocus-main.js')],
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
  const instance = await hocuspocusInstance('hocuspocus', tempDir('hocuspocus'), null)
  return makeServer('hocuspocus', 'Hocuspocus', 'hocuspocus', [instance], null)
}

export async function startHocuspocusRedis (): Promise<ServerUnderTest> {
  const redis = await startRedis('redis (hocuspocus)')
  const dir = tempDir('hocuspocus-redis')
  try {
    const a = await hocuspocusInstance('hocuspocus A', dir, redis.port)
    const b = await hocuspocusInstance('hocuspocus B', dir, redis.port).catch(async (err) => { await a.stop(); throw err })
    return makeServer('hocuspocus-redis', 'Hocuspocus ×2 + Redis', 'hocuspocus', [a, b], redis)
  } catch (err) {
    await redis.stop()
    throw err
  }
}
