/**
 * The scale table (docs/benchmarks.md, "Scale"): how the cost of the edit
 * load grows with the document and with the writers in it.
 *
 * - Size rows: SCALE_DOCS documents, each pre-filled to a size (10 KiB,
 *   1 MiB, 10 MiB by default), then 1 writer + READERS readers each at RATE
 *   edits/s.
 * - Writer rows: one document with W writers (1, 10, 100) and SCALE_READERS
 *   readers, the document's SCALE_DOC_RATE edits/s shared by its writers;
 *   every writer also receives the others' edits.
 *
 * Each row runs on each server in turn, after a restart (so its RSS is the
 * row's alone): connect, warm-up, one continuous window of SCALE_WINDOW_S
 * measured as in the steady state (edit-load.ts).
 */
import { config } from '../config.js'
import type { ServerUnderTest } from '../servers/server.js'
import { waitQuiet } from '../meter.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { unavailable, type ScenarioResult } from '../results.js'
import { sizedDoc } from '../large-doc.js'
import { EditLoad, type LoadShape } from './edit-load.js'
import { loadFigures } from './editing.js'

interface Row { name: string, shape: LoadShape, rate: number }

export const SCALE_PREFIX = 'scale: '

const sizeName = (kib: number): string => `${SCALE_PREFIX}documents of ${kib >= 1024 ? `${kib / 1024} MiB` : `${kib} KiB`}`
const writersName = (w: number): string => `${SCALE_PREFIX}${w} writer${w === 1 ? '' : 's'} in one document`

export function scaleNames (): string[] {
  return [...config.scaleSizesKiB.map(sizeName), ...config.scaleWriters.map(writersName)]
}

function rows (): Row[] {
  const c = config
  return [
    ...c.scaleSizesKiB.map((kib) => ({
      name: sizeName(kib),
      shape: { docs: c.scaleDocs, writersPerDoc: 1, readersPerDoc: c.readersPerDoc, prefill: sizedDoc(kib * 1024) },
      rate: c.editsPerSecond,
    })),
    ...c.scaleWriters.map((w) => ({ name: writersName(w), shape: { docs: 1, writersPerDoc: w, readersPerDoc: c.scaleReaders }, rate: c.scaleDocRate / w })),
  ]
}

async function runRow (server: ServerUnderTest, row: Row, index: number): Promise<ScenarioResult> {
  await server.restart()
  const load = new EditLoad(server, `scale${index}`)
  try {
    await load.connect(row.shape)
    load.run(row.rate)
    await sleep(config.warmupSeconds * 1000)
    const w = await load.measure(config.scaleWindowSeconds)
    load.stop()
    await sleep(config.graceSeconds * 1000)
    const s = load.stats(w)
    const { shape } = row
    const notes = [`${shape.docs} document(s) × (${shape.writersPerDoc} writer(s) at ${row.rate.toFixed(row.rate < 10 ? 1 : 0)} edits/s + ${shape.readersPerDoc} readers)` +
      (shape.prefill ? `, each pre-filled with ${(shape.prefill.length / 2 ** 20).toFixed(2)} MiB` : '') + `; one window of ${config.scaleWindowSeconds} s after a restart`]
    if (load.lostConnections > 0) notes.push(`${load.lostConnections} connections closed by the server`)
    return { scenario: row.name, server: server.kind, status: 'ok', figures: loadFigures([s]), foreignCores: s.cpu.foreignCores, loadgenCores: s.cpu.loadgenCores, notes }
  } finally {
    load.close()
    await waitQuiet(() => server.pids(), 5000)
  }
}

export async function runScale (servers: ServerUnderTest[], log: (m: string) => void): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = []
  for (const [i, row] of rows().entries()) {
    for (const server of servers) {
      try {
        const r = await runRow(server, row, i)
        log(`${row.name} / ${server.kind}: ${r.figures.cpuPerDelivery.values[0].toFixed(1)} µs/delivery, p99 ${r.figures.p99.values[0].toFixed(1)} ms, RSS ${r.figures.rss.values[0].toFixed(0)} MiB`)
        results.push(r)
      } catch (err) {
        results.push(unavailable(row.name, server.kind, 'failed', (err as Error).message.slice(0, 200)))
      }
    }
  }
  return results
}
