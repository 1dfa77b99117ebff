/**
 * Cold load of a large document: seed it through the server's own protocol
 * (one update message with the whole state), check it is held, stop the
 * server gracefully (it persists), start it again — so the document is in no
 * memory — and time a new client from opening its socket until its Y.Doc
 * holds the full text. Repeated with a restart before each; median reported.
 */
import * as Y from 'yjs'
import { config } from '../config.js'
import { BenchClient } from '../clients/client.js'
import type { ServerUnderTest } from '../servers/server.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { figure, unavailable, type ScenarioResult } from '../results.js'
import { largeDoc, TEXT_NAME, type LargeDoc } from '../large-doc.js'

const DOC = 'cold-large'

/** Connect a fresh client and resolve with the ms until it has `expectedLength` characters. */
async function timeFullState (server: ServerUnderTest, expectedLength: number): Promise<{ totalMs: number, firstStateMs: number }> {
  const ydoc = new Y.Doc()
  const text = ydoc.getText(TEXT_NAME)
  const started = performance.now()
  let firstStateMs = NaN
  let client: BenchClient | null = null
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`full state not received within ${config.setupTimeoutSeconds} s (have ${text.length} of ${expectedLength} characters)`)), config.setupTimeoutSeconds * 1000)
      const apply = (update: Uint8Array): void => {
        if (Number.isNaN(firstStateMs) && update.length > 2) firstStateMs = performance.now() - started
        Y.applyUpdate(ydoc, update)
        if (text.length >= expectedLength) {
          clearTimeout(timer)
          resolve()
        }
      }
      BenchClient.connect({
        wire: server.wire,
        base: server.instances[0].url,
        doc: DOC,
        ydoc,
        timeoutMs: config.setupTimeoutSeconds * 1000,
        handlers: {
          onStep2: apply,
          // The reference server may answer before its persistence has loaded, then send the state as an update.
          onUpdate: (frame, start, end) => apply(frame.subarray(start, end)),
        },
      }).then((c) => { client = c }, (err) => { clearTimeout(timer); reject(err) })
    })
    return { totalMs: performance.now() - started, firstStateMs }
  } finally {
    (client as BenchClient | null)?.close()
    ydoc.destroy()
  }
}

async function seed (server: ServerUnderTest, doc: LargeDoc): Promise<void> {
  const writer = await BenchClient.connect({ wire: server.wire, base: server.instances[0].url, doc: DOC, acks: server.supportsAcks })
  writer.sendUpdate(doc.update)
  // Held in memory once another client can read it back.
  await timeFullState(server, doc.textLength)
  if (server.supportsAcks) {
    const deadline = Date.now() + config.setupTimeoutSeconds * 1000
    while (writer.acked < writer.updatesSent && Date.now() < deadline) await sleep(20)
  }
  writer.close()
  // Servers that write when the last client leaves (Hocuspocus) or shortly after an update (y-leveldb) get time to.
  await sleep(1000)
}

/**
 * Seed every server, then restart them in turn for each repeat (Quire,
 * peer, peer, Quire, …) so the noise of the shared machine falls on all alike.
 */
export async function runColdLoad (servers: ServerUnderTest[]): Promise<ScenarioResult[]> {
  const doc = largeDoc(config.coldEdits)
  const seeded: ServerUnderTest[] = []
  const results: ScenarioResult[] = []
  for (const server of servers) {
    try {
      await seed(server, doc)
      seeded.push(server)
    } catch (err) {
      results.push(unavailable('cold load', server.kind, 'failed', `seeding: ${(err as Error).message.slice(0, 200)}`))
    }
  }
  const totals = new Map<ServerUnderTest, number[]>(seeded.map((s) => [s, []]))
  const firsts = new Map<ServerUnderTest, number[]>(seeded.map((s) => [s, []]))
  const failed = new Map<ServerUnderTest, string>()
  for (let r = 0; r < config.coldRepeats; r++) {
    for (const server of seeded) {
      if (failed.has(server)) continue
      try {
        await server.restart()
        // A small document first, so process start-up (lazy loading, JIT) is not what is timed.
        const warm = await BenchClient.connect({ wire: server.wire, base: server.instances[0].url, doc: 'cold-warmup' })
        warm.close()
        const t = await timeFullState(server, doc.textLength)
        totals.get(server)!.push(t.totalMs)
        firsts.get(server)!.push(t.firstStateMs)
      } catch (err) {
        failed.set(server, (err as Error).message.slice(0, 200))
      }
    }
  }
  for (const server of seeded) {
    const reason = failed.get(server)
    if (reason !== undefined && totals.get(server)!.length === 0) {
      results.push(unavailable('cold load', server.kind, 'failed', reason))
      continue
    }
    results.push({
      scenario: 'cold load',
      server: server.kind,
      status: 'ok',
      figures: {
        total: figure('until the client has the full state', 'ms', 'lower', totals.get(server)!, 0),
        first: figure('until the state frame has arrived', 'ms', 'lower', firsts.get(server)!, 0),
      },
      notes: [
        `${doc.edits.toLocaleString('en')} random edits, ${(doc.update.length / 2 ** 20).toFixed(2)} MiB encoded, ${doc.textLength.toLocaleString('en')} characters` +
        (doc.generated ? ` (generated in ${(doc.generateMs / 1000).toFixed(1)} s, now cached)` : ' (cached)'),
        `${totals.get(server)!.length} restarts, taking turns with the other servers; median` + (reason ? `; then failed: ${reason}` : ''),
      ],
    })
  }
  return results
}
