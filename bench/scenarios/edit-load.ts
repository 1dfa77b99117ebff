/**
 * The editing workload shared by the fixed-load and saturation scenarios:
 * documents with one writer and some readers each. Writers make real Yjs
 * edits (append `~~seq~` to a Y.Text) on a schedule; readers find the
 * sequence numbers in what they receive, so each delivery is counted once
 * per reader and timed from its send.
 *
 * Sends are grouped into measurement windows; a delivery counts for the
 * window its edit was sent in, whenever it arrives before the load stops.
 */
import * as Y from 'yjs'
import { BenchClient, connectAll, closeAll, type ClientOptions } from '../clients/client.js'
import { markerText, scanMarkers } from '../clients/markers.js'
import type { ServerUnderTest } from '../servers/server.js'
import { Meter, type WindowCpu } from '../meter.js'
import { Samples, percentile } from '../stats.js'
import { config } from '../config.js'
import { encodeAwareness, newClientId, userJson } from './awareness.js'

interface Reader {
  client: BenchClient
  seen: Uint8Array
}

interface Group {
  name: string
  writer: BenchClient
  ydoc: Y.Doc
  text: Y.Text
  readers: Reader[]
  seq: number
  sentAt: Float64Array
  sentWindow: Int16Array
  nextDue: number
}

export interface WindowStats {
  rate: number
  sends: number
  expected: number
  delivered: number
  deliveredShare: number
  p50: number
  p99: number
  max: number
  cpu: WindowCpu
  /** Server CPU per delivered update, µs. */
  cpuUsPerDelivery: number
  sendsPerSecond: number
  deliveriesPerSecond: number
}

interface OpenWindow {
  sends: number
  expected: number
  delivered: number
  latencies: Samples
  meter: Meter
  cpu: WindowCpu | null
  rate: number
}

const TICK_MS = 5
/** Awareness renewal period of y-protocols (outdatedTimeout / 2), in ticks of a second. */
const RENEW_MS = 15_000
const RENEW_TICKS = 15
/** A writer that falls this far behind its schedule skips ahead rather than bursting. */
const MAX_LAG_MS = 1000

export class EditLoad {
  private groups: Group[] = []
  private windows: OpenWindow[] = []
  private current = -1
  private rate = 0
  private timer: NodeJS.Timeout | null = null
  private renewTimer: NodeJS.Timeout | null = null
  lostConnections = 0

  constructor (private readonly server: ServerUnderTest, private readonly prefix: string) {}

  get connections (): number {
    return this.groups.reduce((n, g) => n + 1 + g.readers.length, 0)
  }

  /** Connect every writer (first instance) and reader (last instance), each announcing a user as an editor does. */
  async connect (docs: number, readersPerDoc: number): Promise<void> {
    const { server } = this
    const writerBase = server.instances[0].url
    const readerBase = server.instances[server.instances.length - 1].url
    const onClose = (): void => { this.lostConnections++ }
    const groups: Group[] = []
    const specs: ClientOptions[] = []
    for (let d = 0; d < docs; d++) {
      const name = `${this.prefix}-${d}`
      const ydoc = new Y.Doc()
      const group: Group = {
        name, ydoc, text: ydoc.getText('default'), writer: null!, readers: [], seq: 0,
        sentAt: new Float64Array(1024), sentWindow: new Int16Array(1024).fill(-1), nextDue: 0,
      }
      groups.push(group)
      specs.push({ wire: server.wire, base: writerBase, doc: name, ydoc, handlers: { onClose }, timeoutMs: config.setupTimeoutSeconds * 1000 })
      for (let r = 0; r < readersPerDoc; r++) {
        const reader: Reader = { client: null!, seen: new Uint8Array(1024) }
        group.readers.push(reader)
        specs.push({
          wire: server.wire,
          base: readerBase,
          doc: name,
          timeoutMs: config.setupTimeoutSeconds * 1000,
          handlers: { onClose, onUpdate: (frame, start, end) => this.onReaderUpdate(group, reader, frame, start, end) },
        })
      }
    }
    const clients = await connectAll(specs, config.connectConcurrency)
    let i = 0
    for (const g of groups) {
      g.writer = clients[i++]
      for (const r of g.readers) r.client = clients[i++]
      g.ydoc.on('update', (update: Uint8Array) => g.writer.sendUpdate(update))
    }
    this.groups = groups
    this.startRenewals(clients)
  }

  /**
   * Every client announces a user, then renews it every 15 s as y-protocols'
   * Awareness does (servers that drop silent connections, like Hocuspocus
   * after 60 s, rely on it). Renewals are spread over the 15 s.
   */
  private startRenewals (clients: BenchClient[]): void {
    const states = clients.map((c, n) => ({ c, id: newClientId(), clock: 1, json: userJson(n, null) }))
    for (const s of states) s.c.sendAwareness(encodeAwareness(s.id, s.clock, s.json))
    let next = 0
    const perTick = Math.ceil(states.length / RENEW_TICKS)
    this.renewTimer = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        const s = states[next++ % states.length]
        s.c.sendAwareness(encodeAwareness(s.id, ++s.clock, s.json))
      }
    }, RENEW_MS / RENEW_TICKS)
  }

  private onReaderUpdate (g: Group, r: Reader, frame: Buffer, start: number, end: number): void {
    const now = performance.now()
    scanMarkers(frame, start, end, (seq) => {
      if (seq > g.seq || r.seen[seq] === 1) return
      r.seen[seq] = 1
      const w = g.sentWindow[seq]
      if (w < 0) return
      const win = this.windows[w]
      win.delivered++
      win.latencies.push(now - g.sentAt[seq])
    })
  }

  /** Start (or change the rate of) the writers' schedule. */
  run (editsPerSecondPerWriter: number): void {
    const now = performance.now()
    const period = 1000 / editsPerSecondPerWriter
    if (this.timer === null) {
      // Spread the writers' first edits over one period.
      for (const g of this.groups) g.nextDue = now + Math.random() * period
      this.timer = setInterval(() => this.tick(), TICK_MS)
    }
    this.rate = editsPerSecondPerWriter
  }

  stop (): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private tick (): void {
    const now = performance.now()
    const period = 1000 / this.rate
    for (const g of this.groups) {
      if (now - g.nextDue > MAX_LAG_MS) g.nextDue = now
      while (g.nextDue <= now) {
        g.nextDue += period
        this.edit(g)
      }
    }
  }

  private edit (g: Group): void {
    const seq = ++g.seq
    if (seq >= g.sentAt.length) grow(g)
    g.sentAt[seq] = performance.now()
    g.sentWindow[seq] = this.current
    if (this.current >= 0) {
      const w = this.windows[this.current]
      w.sends++
      w.expected += g.readers.length
    }
    g.text.insert(g.text.length, markerText(seq))
  }

  /** Open a measurement window; sends from now on count in it. */
  openWindow (): number {
    this.closeWindow()
    this.windows.push({ sends: 0, expected: 0, delivered: 0, latencies: new Samples(), meter: new Meter(() => this.server.pids()), cpu: null, rate: this.rate })
    this.current = this.windows.length - 1
    return this.current
  }

  /** Close the open window (its CPU reading ends now); later sends count in none. */
  closeWindow (): void {
    if (this.current < 0) return
    const w = this.windows[this.current]
    w.cpu = w.meter.read()
    this.current = -1
  }

  /** Figures of a closed window, once its deliveries had time to arrive. */
  stats (index: number): WindowStats {
    const w = this.windows[index]
    const cpu = w.cpu!
    const sorted = w.latencies.sorted()
    return {
      rate: w.rate,
      sends: w.sends,
      expected: w.expected,
      delivered: w.delivered,
      deliveredShare: w.expected === 0 ? NaN : w.delivered / w.expected,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.length ? sorted[sorted.length - 1] : NaN,
      cpu,
      cpuUsPerDelivery: w.delivered === 0 ? NaN : cpu.serverUs / w.delivered,
      sendsPerSecond: w.sends / cpu.seconds,
      deliveriesPerSecond: w.delivered / cpu.seconds,
    }
  }

  close (): void {
    this.stop()
    if (this.renewTimer) clearInterval(this.renewTimer)
    this.renewTimer = null
    for (const g of this.groups) {
      closeAll([g.writer, ...g.readers.map((r) => r.client)])
      g.ydoc.destroy()
    }
    this.groups = []
  }
}

function grow (g: Group): void {
  const n = g.sentAt.length * 2
  const sentAt = new Float64Array(n)
  sentAt.set(g.sentAt)
  const sentWindow = new Int16Array(n).fill(-1)
  sentWindow.set(g.sentWindow)
  g.sentAt = sentAt
  g.sentWindow = sentWindow
  for (const r of g.readers) {
    const seen = new Uint8Array(n)
    seen.set(r.seen)
    r.seen = seen
  }
}
