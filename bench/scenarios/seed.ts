/**
 * Putting a document's content into a server through its own protocol, as
 * a client would: one update message, then wait until another client reads
 * about that much back (servers re-encode a document, so about half its
 * size is taken as held) and, on Quire, until it is acknowledged durable.
 */
import { config } from '../config.js'
import { BenchClient } from '../clients/client.js'
import type { ServerUnderTest } from '../servers/server.js'
import { setTimeout as sleep } from 'node:timers/promises'

/** Bytes of sync messages a fresh client of `doc` receives within `settleMs` of its sync. */
async function readBackBytes (server: ServerUnderTest, doc: string, settleMs: number): Promise<number> {
  let bytes = 0
  const reader = await BenchClient.connect({
    wire: server.wire, base: server.instances[0].url, doc, timeoutMs: config.setupTimeoutSeconds * 1000,
    handlers: { onStep2: (u) => { bytes += u.length }, onUpdate: (_f, start, end) => { bytes += end - start } },
  })
  await sleep(settleMs)
  reader.close()
  return bytes
}

export async function writeDocument (server: ServerUnderTest, doc: string, update: Uint8Array): Promise<void> {
  const timeoutMs = config.setupTimeoutSeconds * 1000
  const writer = await BenchClient.connect({ wire: server.wire, base: server.instances[0].url, doc, acks: server.supportsAcks, timeoutMs })
  try {
    writer.sendUpdate(update)
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const bytes = await readBackBytes(server, doc, 50)
      if (bytes >= update.length / 2) break
      if (Date.now() > deadline) throw new Error(`${doc}: ${update.length} bytes written, not held within ${config.setupTimeoutSeconds} s (read back ${bytes})`)
      await sleep(200)
    }
    while (server.supportsAcks && writer.acked < writer.updatesSent) {
      if (Date.now() > deadline) throw new Error(`${doc}: not acknowledged within ${config.setupTimeoutSeconds} s`)
      await sleep(20)
    }
  } finally {
    writer.close()
  }
}
