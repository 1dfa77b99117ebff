/**
 * The Hocuspocus server the bench runs: @hocuspocus/server with a storage
 * hook so documents survive unload and restart (one file per document,
 * written after Hocuspocus's usual store debounce and on unload), and
 * @hocuspocus/extension-redis when REDIS_PORT is set. Listens on
 * 127.0.0.1:PORT; SIGTERM stores everything and exits.
 */
import { Server, type Extension } from '@hocuspocus/server'
import { Redis } from '@hocuspocus/extension-redis'
import { mkdirSync } from 'node:fs'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as Y from 'yjs'

const port = Number(process.env.PORT)
const dataDir = process.env.DATA_DIR ?? './hocuspocus-data'
const redisPort = process.env.REDIS_PORT ? Number(process.env.REDIS_PORT) : null
mkdirSync(dataDir, { recursive: true })

const fileOf = (name: string): string => join(dataDir, encodeURIComponent(name) + '.bin')

const extensions: Extension[] = []
if (redisPort !== null) extensions.push(new Redis({ host: '127.0.0.1', port: redisPort }))

const server = new Server({
  port,
  address: '127.0.0.1',
  quiet: true,
  stopOnSignals: false,
  extensions,
  async onLoadDocument ({ documentName }) {
    try {
      return new Uint8Array(await readFile(fileOf(documentName)))
    } catch {
      return undefined
    }
  },
  async onStoreDocument ({ documentName, document }) {
    const file = fileOf(documentName)
    const tmp = `${file}.${process.pid}.tmp`
    await writeFile(tmp, Y.encodeStateAsUpdate(document))
    await rename(tmp, file)
  },
})

await server.listen()

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  server.destroy().then(() => process.exit(0), () => process.exit(1))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
