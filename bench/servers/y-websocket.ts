/**
 * The reference y-websocket server (y-websocket@2.1.0, bin/server.cjs) with
 * its y-leveldb persistence (YPERSISTENCE), so documents survive a restart
 * like the other servers' do.
 */
import { fromRoot, tempDir } from '../../harness/paths.js'
import { freePort } from '../../harness/ports.js'
import { startInstance } from '../../harness/instance.js'
import { profileArgs } from './profile.js'
import { makeServer, type ServerUnderTest } from './server.js'

export async function startYWebsocket (): Promise<ServerUnderTest> {
  const port = await freePort()
  const instance = await startInstance({
    label: 'y-websocket',
    command: process.execPath,
    args: [...profileArgs('y-websocket'), fromRoot('node_modules', 'y-websocket-v2', 'bin', 'server.cjs')],
    env: { HOST: '127.0.0.1', PORT: String(port), YPERSISTENCE: tempDir('bench-y-websocket') },
    port,
    cwd: fromRoot(),
  })
  return makeServer('y-websocket', 'y-websocket', 'yws', [instance], null)
}
