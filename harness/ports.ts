/** Ports on 127.0.0.1: one free right now, and waiting until a child listens on its own. */
import { createConnection, createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { DEFAULT_WAIT_MS, errorLine, type Child } from './processes.js'

/** A port free on 127.0.0.1 right now. */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      const port = typeof address === 'object' && address ? address.port : 0
      srv.close(() => resolve(port))
    })
  })
}

function canConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/**
 * Resolves once `port` accepts connections; rejects if the child exits or
 * time runs out. For servers that print nothing when they listen (polling:
 * a listening socket sends no event to another process).
 */
export async function waitForPort (child: Child, port: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!child.isRunning()) {
      await child.exited
      throw new Error(`${child.label} exited before listening: ${errorLine(child.output)}`)
    }
    if (await canConnect(port)) return
    await sleep(50)
  }
  throw new Error(`${child.label} did not listen on ${port} within ${timeoutMs} ms`)
}
