/**
 * Redis memory per document: DOCS documents, each typed as EDITS separate
 * small updates (random inserts and deletes), then every client leaves so the
 * server can compact and unload. Reported: what the server's keys take in
 * Redis (MEMORY USAGE, summed over every key, minus what was there before)
 * per document, against the document's encoded size (Y.encodeStateAsUpdate).
 */
import * as Y from 'yjs'
import { config } from '../config.js'
import { BenchClient, connectAll, closeAll } from '../clients/client.js'
import type { ServerUnderTest } from '../servers/server.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { figure, type ScenarioResult } from '../results.js'
import { randomEdits, TEXT_NAME } from '../large-doc.js'

/** Poll until the value stays the same for `stableMs` (compaction finished), at most `maxMs`. */
async function settled (read: () => Promise<number>, stableMs: number, maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs
  let last = await read()
  let since = Date.now()
  while (Date.now() < deadline) {
    await sleep(250)
    const now = await read()
    if (now !== last) {
      last = now
      since = Date.now()
    } else if (Date.now() - since >= stableMs) {
      break
    }
  }
  return last
}

export async function runRedisMemory (server: ServerUnderTest): Promise<ScenarioResult> {
  const redis = server.redis!
  const before = await redis.keyMemory()
  const docs = Array.from({ length: config.redisDocs }, (_, d) => {
    const ydoc = new Y.Doc()
    return { name: `redis-mem-${d}`, ydoc, updates: [] as Uint8Array[] }
  })
  for (const [d, doc] of docs.entries()) {
    doc.ydoc.on('update', (u: Uint8Array) => doc.updates.push(u))
    randomEdits(doc.ydoc, config.redisEditsPerDoc, 1000 + d, config.redisEditsPerDoc)
  }
  const writers = await connectAll(docs.map((doc) => ({
    wire: server.wire, base: server.instances[0].url, doc: doc.name, acks: server.supportsAcks,
  })), config.connectConcurrency)
  try {
    // Type in bursts, as fast as the server takes them.
    for (let i = 0; i < config.redisEditsPerDoc; i += 50) {
      docs.forEach((doc, d) => { for (const u of doc.updates.slice(i, i + 50)) writers[d].sendUpdate(u) })
      await sleep(5)
    }
    const deadline = Date.now() + config.setupTimeoutSeconds * 1000
    if (server.supportsAcks) {
      while (writers.some((w) => w.acked < w.updatesSent) && Date.now() < deadline) await sleep(50)
    } else {
      // No acknowledgements: wait until another client reads every document back whole.
      for (const doc of docs) await readBack(server, doc.name, doc.ydoc.getText(TEXT_NAME).length)
    }
  } finally {
    closeAll(writers)
  }
  // Documents unload (and compact) once their last client has left.
  const bytes = await settled(async () => (await redis.keyMemory()).bytes, 1500, 20_000)
  const after = await redis.keyMemory()
  const encoded = docs.reduce((s, d) => s + Y.encodeStateAsUpdate(d.ydoc).length, 0) / docs.length
  const perDoc = (bytes - before.bytes) / docs.length
  for (const d of docs) d.ydoc.destroy()
  return {
    scenario: 'Redis memory per document',
    server: server.kind,
    status: 'ok',
    figures: {
      perDoc: figure('Redis memory per document', 'bytes', 'lower', [perDoc], 0),
      encoded: figure('encoded size (Y.encodeStateAsUpdate)', 'bytes', 'lower', [encoded], 0),
      ratio: figure('memory / encoded size', '×', 'lower', [perDoc / encoded], 2),
      keys: figure('keys per document', '', 'lower', [(after.keys - before.keys) / docs.length], 1),
    },
    notes: [`${docs.length} documents × ${config.redisEditsPerDoc} edits sent as separate updates; measured once every client had left and Redis stopped changing`],
  }
}

async function readBack (server: ServerUnderTest, doc: string, length: number): Promise<void> {
  const ydoc = new Y.Doc()
  const client = await BenchClient.connect({
    wire: server.wire,
    base: server.instances[server.instances.length - 1].url,
    doc,
    handlers: { onStep2: (u) => Y.applyUpdate(ydoc, u), onUpdate: (f, s, e) => Y.applyUpdate(ydoc, f.subarray(s, e)) },
  })
  const deadline = Date.now() + 10_000
  while (ydoc.getText(TEXT_NAME).length < length && Date.now() < deadline) await sleep(50)
  client.close()
  ydoc.destroy()
}
