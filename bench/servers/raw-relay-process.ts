/** Starts the raw relay (raw-relay-main.js) as a server under test. */
import { fromRoot, tempDir } from '../../harness/paths.js'
import { freePort } from '../../harness/ports.js'
import { startInstance } from '../../harness/instance.js'
import { profileArgs } from './profile.js'
import { makeServer, type ServerUnderTest } from './server.js'

export async function startRawRelay (): Promise<ServerUnderTest> {
  const port = await freePort()
  const instance = await startInstance({
    label: 'raw relay',
    command: process.execPath,
    args: [...profileArgs('raw-relay'), fromRoot('dist', 'bench', 'servers', 'raw-relay-main.js')],
    env: { PORT: String(port), DATA_DIR: tempDir('bench-raw-relay') },
    port,
    cwd: fromRoot(),
  })
  return makeServer('relay', 'raw relay', 'yws', [instance], null)
}
