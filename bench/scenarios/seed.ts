/**
 * Putting a document's content into a server through its own protocol, as
 * clients would: the pieces it was typed in, a few pieces per writer
 * (Quire's per-connection work budget, WORK_BUDGET_BURST_MS, refuses a
 * 10 MiB update in one message — docs/configuration.md), each writer only
 * sending (it does not ask for the document) and, on Quire, waiting for its
 * pieces to be acknowledged durable; then wait until another client reads
 * about the document's size back (servers re-encode a document, so half
 * its size is taken as held).
 */
import { config } from '../config.js'
import { BenchClient } from '../clients/client.js'
import type { ServerUnderTest } from '../servers/server.js'
import { setTimeout as sleep } from 'node:timers/promises'
import type { SizedDoc } from '../large-doc.js'

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

/** Pieces one writer sends (about 600 KB: well within Quire's default work budget of a connection, even on a busy machine). */
const PIECES_PER_WRITER = 2

/**
 * One writer sends `pieces`; on Quire it waits for their acks. It is left
 * open: closing a socket at once may drop what the server has not read
 * yet, and servers without acks say nothing about what they hold.
 */
async function writePieces (server: ServerUnderTest, doc: string, pieces: Uint8Array[]): Promise<BenchClient> {
  const timeoutMs = config.setupTimeoutSeconds * 1000
  let closedWith: number | null = null
  const writer = await BenchClient.connect({
    wire: server.wire, base: server.instances[0].url, doc, acks: server.supportsAcks, sendOnly: true, timeoutMs, handlers: { onClose: (code) => { closedWith = code } },
  })
  const bytes = pieces.reduce((n, p) => n + p.length, 0)
  try {
    for (const piece of pieces) writer.sendUpdate(piece)
    const deadline = Date.now() + timeoutMs
    while (server.supportsAcks && writer.acked < writer.updatesSent) {
      if (closedWith !== null) throw new Error(`${doc}: the writer of ${bytes} bytes was closed with ${closedWith}`)
      if (Date.now() > deadline) throw new Error(`${doc}: ${bytes} bytes not acknowledged within ${config.setupTimeoutSeconds} s`)
      await sleep(20)
    }
    return writer
  } catch (err) {
    writer.close()
    throw err
  }
}

export async function writeDocument (server: ServerUnderTest, doc: string, content: SizedDoc): Promise<void> {
  const writers: BenchClient[] = []
  try {
    for (let i = 0; i < content.pieces.length; i += PIECES_PER_WRITER) writers.push(await writePieces(server, doc, content.pieces.slice(i, i + PIECES_PER_WRITER)))
    const deadline = Date.now() + config.setupTimeoutSeconds * 1000
    for (;;) {
      const bytes = await readBackBytes(server, doc, 50)
      if (bytes >= content.update.length / 2) return
      if (Date.now() > deadline) throw new Error(`${doc}: ${content.update.length} bytes written, not held within ${config.setupTimeoutSeconds} s (read back ${bytes})`)
      await sleep(200)
    }
  } finally {
    for (const w of writers) w.close()
  }
}
