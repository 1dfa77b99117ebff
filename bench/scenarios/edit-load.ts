/**
 * The editing workload of the fixed-load (steady state) and scale
 * scenarios: documents with some writers and readers each. Writers make
 * real Yjs edits (append `~~seq~` to a Y.Text, one sequence per document);
 * every other client of the document finds the sequence numbers in what it
 * receives, so each delivery is counted once per recipient and timed from
 * its send.
 *
 * A measurement window is continuous and counts by arrival: it opens at the
 * first delivery after it is asked to open and closes at the first delivery
 * after it is asked to close, and the server's CPU is read at exactly those
 * two deliveries (docs/benchmarks.md, "Steady state"). Every delivery that
 * arrives in between counts, with its latency, whenever its edit was sent;
 * the load runs on without a pause across the window.
 */
import * as Y from 'yjs'
import { BenchClient, connectAll, closeAll, type ClientOptions } from '../clients/client.js'
import { markerText, scanMarkers } from '../clients/markers.js'
import type { ServerUnderTest } from '../servers/server.js'
import { Meter, type WindowCpu } from '../meter.js'
import { sampleTrees } from '../proc-stats.js'
import { Samples, percentile } from '../stats.js'
import { config } from '../config.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { encodeAwareness, newClientId, userJson } from './awareness.js'
import { writeDocument } from './seed.js'

interface Member {
  /** Writers: 1 + their index in the group (a server that echoes a writer's edit back delivers nothing); readers 0. */
  writer: number
  client: BenchClient
  /** Sequence numbers this client has received (each counts once). */
  seen: Uint8Array
}

interface Writer extends Member {
  ydoc: Y.Doc
  text: Y.Text
  nextDue: number
}

interface Group {
  name: string
  writers: Writer[]
  members: Member[]
  seq: number
  sentAt: Float64Array
  /** Window each sequence number was sent in (-1: none). */
  sentWindow: Int16Array
  /** Member.writer of the writer that sent each sequence number. */
  sentBy: Uint16Array
}

export interface WindowStats {
  rate: number
  /** Deliveries that arrived in the window. */
  delivered: number
  /** Of the edits sent in the window, the share of their deliveries that arrived (by the time stats were taken). */
  deliveredShare: number
  p50: number
  p99: number
  max: number
  cpu: WindowCpu
  /** Server CPU per delivered update, µs. */
  cpuUsPerDelivery: number
  sendsPerSecond: number
  deliveriesPerSecond: number
  /** Server RSS (all its processes) when the window closed, bytes. */
  rssBytes: number
}

interface OpenWindow {
  phase: 'armed' | 'open' | 'closing' | 'closed'
  started: number
  delivered: number
  sends: number
  expected: number
  deliveredOfSends: number
  latencies: Samples
  meter: Meter | null
  cpu: WindowCpu | null
  rssBytes: number
  rate: number
  settle: (() => void) | null
}

const TICK_MS = 5
/** Awareness renewal of y-protocols while a server is loaded (outdatedTimeout / 2)… */
const RENEW_LOADED_S = 15
/** …and while it waits for its turn: enough for Hocuspocus, which closes a connection silent for 60 s. */
const RENEW_WAITING_S = 45
/** A writer that falls this far behind its schedule skips ahead rather than bursting. */
const MAX_LAG_MS = 1000
/** A window waits at most this long for the delivery that opens or closes it. */
const EDGE_WAIT_MS = 2000

export interface LoadShape {
  docs: number
  writersPerDoc: number
  readersPerDoc: number
  /** A document's content before the load starts (a Yjs update), or none. */
  prefill?: Uint8Array
}

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
    return this.groups.reduce((n, g) => n + g.members.length, 0)
  }

  /** Connect every writer (first instance) and reader (last instance), each announcing a user as an editor does. */
  async connect (shape: LoadShape): Promise<void> {
    const { server } = this
    const writerBase = server.instances[0].url
    const readerBase = server.instances[server.instances.length - 1].url
    const onClose = (): void => { this.lostConnections++ }
    const groups: Group[] = []
    const specs: ClientOptions[] = []
    const timeoutMs = config.setupTimeoutSeconds * 1000
    for (let d = 0; d < shape.docs; d++) {
      const group: Group = {
        name: `${this.prefix}-${d}`, writers: [], members: [], seq: 0, sentAt: new Float64Array(1024), sentWindow: new Int16Array(1024).fill(-1), sentBy: new Uint16Array(1024),
      }
      groups.push(group)
      if (shape.prefill) await writeDocument(server, group.name, shape.prefill)
      const handlers = (m: Member): ClientOptions['handlers'] => ({ onClose, onUpdate: (frame, start, end) => this.onUpdate(group, m, frame, start, end) })
      for (let w = 0; w < shape.writersPerDoc; w++) {
        const ydoc = new Y.Doc()
        const writer: Writer = { writer: w + 1, client: null!, seen: new Uint8Array(1024), ydoc, text: ydoc.getText('default'), nextDue: 0 }
        group.writers.push(writer)
        group.members.push(writer)
        specs.push({ wire: server.wire, base: writerBase, doc: group.name, ydoc, handlers: handlers(writer), timeoutMs })
      }
      for (let r = 0; r < shape.readersPerDoc; r++) {
        const reader: Member = { writer: 0, client: null!, seen: new Uint8Array(1024) }
        group.members.push(reader)
        specs.push({ wire: server.wire, base: readerBase, doc: group.name, handlers: handlers(reader), timeoutMs })
      }
    }
    const clients = await connectAll(specs, config.connectConcurrency)
    let i = 0
    for (const g of groups) {
      for (const m of g.members) m.client = clients[i++]
      for (const w of g.writers) w.ydoc.on('update', (update: Uint8Array) => w.client.sendUpdate(update))
    }
    this.groups = groups
    this.startRenewals(clients)
  }

  /**
   * Every client announces a user, then renews it as y-protocols' Awareness
   * does (every 15 s) while the server is loaded, and every 45 s while it
   * waits, so a waiting server carries no more than the keep-alive it needs.
   * Renewals are spread over the period.
   */
  private startRenewals (clients: BenchClient[]): void {
    const states = clients.map((c, n) => ({ c, id: newClientId(), clock: 1, json: userJson(n, null) }))
    for (const s of states) s.c.sendAwareness(encodeAwareness(s.id, s.clock, s.json))
    let next = 0
    let owed = 0
    this.renewTimer = setInterval(() => {
      owed += states.length / (this.timer === null ? RENEW_WAITING_S : RENEW_LOADED_S) / 10
      for (; owed >= 1; owed--) {
        const s = states[next++ % states.length]
        s.c.sendAwareness(encodeAwareness(s.id, ++s.clock, s.json))
      }
    }, 100)
  }

  private onUpdate (g: Group, m: Member, frame: Buffer, start: number, end: number): void {
    const now = performance.now()
    const win = this.current >= 0 ? this.windows[this.current] : null
    if (win !== null && win.phase === 'closing') this.edge(win, 'closed', now)
    if (win !== null && win.phase === 'armed') this.edge(win, 'open', now)
    scanMarkers(frame, start, end, (seq) => {
      if (seq > g.seq || m.seen[seq] === 1 || g.sentBy[seq] === m.writer) return
      m.seen[seq] = 1
      const sw = g.sentWindow[seq]
      if (sw >= 0) this.windows[sw].deliveredOfSends++
      if (win !== null && win.phase === 'open') {
        win.delivered++
        win.latencies.push(now - g.sentAt[seq])
      }
    })
  }

  /** A window opens or closes: read the server's CPU (and, at the close, its memory) at this delivery. */
  private edge (win: OpenWindow, phase: 'open' | 'closed', now: number): void {
    if (phase === 'open') {
      win.meter = new Meter(() => this.server.pids(), this.server.redis ? () => [this.server.redis!.child.pid] : undefined)
      win.started = now
    } else {
      win.cpu = win.meter!.read()
      win.rssBytes = sampleTrees(this.server.pids()).rssBytes
      this.current = -1
    }
    win.phase = phase
    win.settle?.()
    win.settle = null
  }

  private async awaitEdge (win: OpenWindow, phase: 'open' | 'closed'): Promise<void> {
    if (win.phase === phase) return
    await Promise.race([new Promise<void>((resolve) => { win.settle = resolve }), sleep(EDGE_WAIT_MS)])
    // No delivery at all (a stalled server): the edge is now.
    if (win.phase !== phase) this.edge(win, phase, performance.now())
  }

  /** Start (or change the rate of) the writers' schedule. */
  run (editsPerSecondPerWriter: number): void {
    const now = performance.now()
    const period = 1000 / editsPerSecondPerWriter
    if (this.timer === null) {
      // Spread the writers' first edits over one period.
      for (const g of this.groups) for (const w of g.writers) w.nextDue = now + Math.random() * period
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
      for (const w of g.writers) {
        if (now - w.nextDue > MAX_LAG_MS) w.nextDue = now
        while (w.nextDue <= now) {
          w.nextDue += period
          this.edit(g, w)
        }
      }
    }
  }

  private edit (g: Group, w: Writer): void {
    const seq = ++g.seq
    if (seq >= g.sentAt.length) grow(g)
    g.sentAt[seq] = performance.now()
    g.sentBy[seq] = w.writer
    const win = this.current >= 0 ? this.windows[this.current] : null
    if (win !== null && win.phase === 'open') {
      g.sentWindow[seq] = this.current
      win.sends++
      win.expected += g.members.length - 1
    }
    w.text.insert(w.text.length, markerText(seq))
  }

  /** One continuous window of `seconds` while the load runs; resolves with its index once it has closed. */
  async measure (seconds: number): Promise<number> {
    const win: OpenWindow = {
      phase: 'armed', started: 0, delivered: 0, sends: 0, expected: 0, deliveredOfSends: 0,
      latencies: new Samples(), meter: null, cpu: null, rssBytes: 0, rate: this.rate, settle: null,
    }
    this.windows.push(win)
    this.current = this.windows.length - 1
    await this.awaitEdge(win, 'open')
    await sleep(seconds * 1000)
    win.phase = 'closing'
    await this.awaitEdge(win, 'closed')
    return this.windows.indexOf(win)
  }

  /** Figures of a closed window (its delivered share counts what arrived until now). */
  stats (index: number): WindowStats {
    const w = this.windows[index]
    const cpu = w.cpu!
    const sorted = w.latencies.sorted()
    return {
      rate: w.rate,
      delivered: w.delivered,
      deliveredShare: w.expected === 0 ? NaN : w.deliveredOfSends / w.expected,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.length ? sorted[sorted.length - 1] : NaN,
      cpu,
      cpuUsPerDelivery: w.delivered === 0 ? NaN : cpu.serverUs / w.delivered,
      sendsPerSecond: w.sends / cpu.seconds,
      deliveriesPerSecond: w.delivered / cpu.seconds,
      rssBytes: w.rssBytes,
    }
  }

  close (): void {
    this.stop()
    if (this.renewTimer) clearInterval(this.renewTimer)
    this.renewTimer = null
    for (const g of this.groups) {
      closeAll(g.members.map((m) => m.client))
      for (const w of g.writers) w.ydoc.destroy()
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
  const sentBy = new Uint16Array(n)
  sentBy.set(g.sentBy)
  g.sentAt = sentAt
  g.sentWindow = sentWindow
  g.sentBy = sentBy
  for (const m of g.members) {
    const seen = new Uint8Array(n)
    seen.set(m.seen)
    m.seen = seen
  }
}
