/**
 * Presence storm: N clients in one document, each moving its caret (an
 * awareness update) PRESENCE_HZ times a second, phases spread evenly. A few
 * observers decode every awareness frame they get and time each client's
 * update from its send; the rest only receive. Reported: server CPU, CPU per
 * awareness update sent, latency and the share of updates the observers saw.
 */
import { config } from '../config.js'
import { connectAll, closeAll, type BenchClient, type ClientOptions } from '../clients/client.js'
import { readVarUint, skipVarBytes } from '../clients/varint.js'
import type { ServerUnderTest } from '../servers/server.js'
import { Meter, waitQuiet } from '../meter.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { Samples, percentile } from '../stats.js'
import { figure, type ScenarioResult } from '../results.js'
import { encodeAwareness, newClientId, userJson } from './awareness.js'

/** Clocks remembered per client (ring buffer); far more than a window holds at 1 Hz. */
const RING = 256

interface Mover {
  clientId: number
  clock: number
  nextDue: number
  client: BenchClient
  sentAt: Float64Array
  /** Whether the update with this clock was sent inside the measurement window. */
  inWindow: Uint8Array
  windowSends: number
}

export async function runPresence (server: ServerUnderTest, n: number): Promise<ScenarioResult> {
  const doc = `presence-${n}`
  const movers: Mover[] = []
  const byId = new Map<number, number>()
  for (let i = 0; i < n; i++) {
    const clientId = newClientId()
    byId.set(clientId, i)
    movers.push({ clientId, clock: 0, nextDue: 0, client: null!, sentAt: new Float64Array(RING), inWindow: new Uint8Array(RING), windowSends: 0 })
  }
  const observers = Math.min(config.presenceObservers, n)
  const latencies = new Samples()
  let observed = 0
  let lost = 0

  // Each observer counts what it saw of every other client, once per clock.
  const seen = Array.from({ length: observers }, () => new Map<number, number>())
  const observeOwn = (o: number) => (frame: Buffer, start: number, end: number): void => {
    const now = performance.now()
    let [count, pos] = readVarUint(frame, start)
    while (count-- > 0 && pos < end) {
      const [clientId, p1] = readVarUint(frame, pos)
      const [clock, p2] = readVarUint(frame, p1)
      pos = skipVarBytes(frame, p2)
      const i = byId.get(clientId)
      if (i === undefined || i === o) continue
      const m = movers[i]
      if (clock > m.clock || clock <= m.clock - RING) continue
      const last = seen[o].get(i) ?? 0
      if (clock <= last) continue
      seen[o].set(i, clock)
      if (m.inWindow[clock % RING] !== 1) continue
      observed++
      latencies.push(now - m.sentAt[clock % RING])
    }
  }

  const specs: ClientOptions[] = movers.map((_, i) => ({
    wire: server.wire,
    base: server.instances[0].url,
    doc,
    timeoutMs: config.setupTimeoutSeconds * 1000,
    handlers: {
      onClose: () => { lost++ },
      ...(i < observers ? { onAwareness: observeOwn(i) } : {}),
    },
  }))
  const clients = await connectAll(specs, config.connectConcurrency)
  let windowOpen = false
  const move = (m: Mover, i: number): void => {
    const clock = ++m.clock
    const slot = clock % RING
    m.sentAt[slot] = performance.now()
    m.inWindow[slot] = windowOpen ? 1 : 0
    if (windowOpen) m.windowSends++
    m.client.sendAwareness(encodeAwareness(m.clientId, clock, userJson(i, { client: m.clientId, clock: clock * 7 })))
  }
  let timer: NodeJS.Timeout | null = null
  try {
    clients.forEach((c, i) => { movers[i].client = c })
    // Every client announces itself once, as an editor does on opening.
    movers.forEach(move)
    await sleep(1000)
    await waitQuiet(() => server.pids(), 3000)

    const period = 1000 / config.presenceHz
    const start = performance.now()
    movers.forEach((m, i) => { m.nextDue = start + period * i / n })
    timer = setInterval(() => {
      const now = performance.now()
      movers.forEach((m, i) => {
        if (now - m.nextDue > 1000) m.nextDue = now
        while (m.nextDue <= now) {
          m.nextDue += period
          move(m, i)
        }
      })
    }, 5)
    await sleep(1500)
    windowOpen = true
    const meter = new Meter(() => server.pids())
    await sleep(config.presenceSeconds * 1000)
    windowOpen = false
    const cpu = meter.read()
    clearInterval(timer)
    timer = null
    await sleep(config.graceSeconds * 1000)

    const sent = movers.reduce((s, m) => s + m.windowSends, 0)
    let expected = 0
    for (let o = 0; o < observers; o++) expected += sent - movers[o].windowSends
    const sorted = latencies.sorted()
    const deliveredShare = expected === 0 ? NaN : observed / expected
    const notes = [`${sent} awareness updates sent in ${cpu.seconds.toFixed(1)} s; latency and delivery seen by ${observers} observers`]
    if (deliveredShare < 0.95) notes.push('server fell behind: CPU per update is a lower bound')
    if (lost > 0) notes.push(`${lost} connections closed by the server`)
    return {
      scenario: `presence storm, ${n} clients`,
      server: server.kind,
      status: 'ok',
      figures: {
        serverCores: figure('server CPU', 'cores', 'lower', [cpu.serverCores], 2),
        cpuPerUpdate: figure('server CPU per awareness update', 'ms', 'lower', [cpu.serverUs / 1000 / sent], 3),
        p50: figure('p50 latency', 'ms', 'lower', [percentile(sorted, 50)]),
        p99: figure('p99 latency', 'ms', 'lower', [percentile(sorted, 99)]),
        delivered: figure('delivered to observers', '%', 'higher', [deliveredShare * 100], 1),
      },
      foreignCores: cpu.foreignCores,
      loadgenCores: cpu.loadgenCores,
      notes,
    }
  } finally {
    if (timer) clearInterval(timer)
    closeAll(clients)
    // Closing N clients makes some servers tell every remaining client: let that finish before the next scenario.
    await waitQuiet(() => server.pids(), 8000)
  }
}
