#!/usr/bin/env node
/**
 * Edit latency and server cost over the fallback stream against a WebSocket
 * (docs/protocol.md, "The fallback transport"). Needs `npm run build`.
 * Usage: node scripts/measure-fallback.mjs [edits]
 *
 * One Quire process (embedded store, fsync on every batch). A writer sends
 * small edits one at a time, each as soon as the previous one reached a
 * reader on a WebSocket: latency = send → the reader has it (relayed after
 * it is durable), and send → the writer's ack. Then the same at a typing
 * pace (20 edits/s, not waiting). The writer is a raw WebSocket, then a raw
 * stream (fetch: an event stream down, one POST per edit up). Server CPU
 * per edit is read from /proc (utime + stime of the process), after a
 * warm-up round of each.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import * as Y from 'yjs'
import WebSocket from 'ws'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'

const EDITS = Number(process.argv[2] ?? 300)
const TYPING_PER_SECOND = 20

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
})

async function startQuire () {
  const port = await freePort()
  const proc = spawn(process.execPath, ['dist/server/main.js'], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', DATA_DIR: mkdtempSync(join(tmpdir(), 'quire-fallback-')), RATE_LIMIT_PER_SECOND: '100000' },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${url}/healthz`)).ok) break } catch { /* not yet */ }
    if (i > 200) throw new Error('quire did not start')
    await new Promise((r) => setTimeout(r, 50))
  }
  return { url, wsUrl: `ws://127.0.0.1:${port}`, pid: proc.pid, stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGTERM') }) }
}

const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) * 10
}

/** The edits: one character each, with a marker a reader can find in the bytes. */
function edits (n) {
  const d = new Y.Doc()
  const out = []
  d.on('update', (u) => out.push(encodeUpdate(u)))
  for (let i = 0; i < n; i++) d.getText('t').insert(d.getText('t').length, `~${i}~`)
  return out
}

/** A sync update message [0, 2, update] (scripts run on their own: they import nothing of Quire's). */
const encodeUpdate = (update) => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 0)
  syncProtocol.writeUpdate(e, update)
  return encoding.toUint8Array(e)
}

const decode = (data) => {
  const d = decoding.createDecoder(data)
  const type = decoding.readVarUint(d)
  return { type, d }
}

/** A WebSocket reader: resolves `seen(i)` when edit i's marker arrives. */
async function reader (wsUrl, doc) {
  const ws = new WebSocket(`${wsUrl}/${doc}`)
  ws.binaryType = 'nodebuffer'
  const waiters = new Map()
  ws.on('message', (data) => {
    const text = Buffer.from(data).toString('latin1')
    for (const m of text.matchAll(/~(\d+)~/g)) waiters.get(Number(m[1]))?.()
  })
  await new Promise((r) => ws.on('open', r))
  return { seen: (i) => new Promise((r) => waiters.set(i, r)), close: () => ws.close() }
}

/** A writer on either transport: send(frame), acks counted. */
async function writer (kind, q, doc) {
  let acked = 0
  const ackWaiters = []
  const onFrame = (data) => {
    const { type, d } = decode(data)
    if (type !== 100) return
    acked = decoding.readVarUint(d)
    while (ackWaiters.length && ackWaiters[0].n <= acked) ackWaiters.shift().resolve()
  }
  const acks = (n) => new Promise((resolve) => { if (acked >= n) resolve(); else ackWaiters.push({ n, resolve }) })
  if (kind === 'websocket') {
    const ws = new WebSocket(`${q.wsUrl}/${doc}?ack=1`)
    ws.binaryType = 'nodebuffer'
    ws.on('message', (data) => onFrame(new Uint8Array(data)))
    await new Promise((r) => ws.on('open', r))
    return { send: (f) => ws.send(f), acks, close: () => ws.close() }
  }
  const aborter = new AbortController()
  const res = await fetch(`${q.url}/sync/${doc}?ack=1`, { signal: aborter.signal })
  let session
  const opened = new Promise((resolve) => {
    void (async () => {
      const dec = new TextDecoder()
      let buf = ''
      try {
        for await (const chunk of res.body) {
          buf += dec.decode(chunk, { stream: true })
          let end
          while ((end = buf.indexOf('\n\n')) !== -1) {
            const block = buf.slice(0, end)
            buf = buf.slice(end + 2)
            if (block.startsWith('event: session')) { session = JSON.parse(block.split('data: ')[1]).session; resolve() } else if (block.startsWith('data: ')) onFrame(new Uint8Array(Buffer.from(block.slice(6), 'base64')))
          }
        }
      } catch { /* aborted */ }
    })()
  })
  await opened
  // One POST at a time, as the provider sends them; what comes meanwhile goes in the next.
  let queue = []
  let posting = false
  const flush = async () => {
    if (posting || queue.length === 0) return
    posting = true
    const body = queue.map((f) => Buffer.from(f).toString('base64')).join('\n')
    queue = []
    await fetch(`${q.url}/sync/${doc}?session=${session}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } })
    posting = false
    void flush()
  }
  return { send: (f) => { queue.push(f); queueMicrotask(flush) }, acks, close: () => aborter.abort() }
}

const pct = (values, p) => {
  const s = [...values].sort((a, b) => a - b)
  return +s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(2)
}

async function run (kind, q, pace, label = '') {
  const doc = `measure/${kind}/${pace}${label}`
  const r = await reader(q.wsUrl, doc)
  const w = await writer(kind, q, doc)
  const frames = edits(EDITS)
  const delivered = []
  const acked = []
  const cpuBefore = cpuMs(q.pid)
  const start = performance.now()
  if (pace === 'one at a time') {
    for (let i = 0; i < frames.length; i++) {
      const t0 = performance.now()
      const seen = r.seen(i)
      w.send(frames[i])
      await Promise.all([seen.then(() => delivered.push(performance.now() - t0)), w.acks(i + 1).then(() => acked.push(performance.now() - t0))])
    }
  } else {
    const all = []
    for (let i = 0; i < frames.length; i++) {
      const t0 = performance.now()
      all.push(r.seen(i).then(() => delivered.push(performance.now() - t0)), w.acks(i + 1).then(() => acked.push(performance.now() - t0)))
      w.send(frames[i])
      await new Promise((res) => setTimeout(res, 1000 / TYPING_PER_SECOND))
    }
    await Promise.all(all)
  }
  const seconds = (performance.now() - start) / 1000
  const cpu = cpuMs(q.pid) - cpuBefore
  w.close()
  r.close()
  return {
    transport: kind,
    pace,
    edits: EDITS,
    'delivered p50 ms': pct(delivered, 0.5),
    'delivered p99 ms': pct(delivered, 0.99),
    'acked p50 ms': pct(acked, 0.5),
    'acked p99 ms': pct(acked, 0.99),
    'server CPU per edit ms': +(cpu / EDITS).toFixed(3),
    seconds: +seconds.toFixed(1),
  }
}

const q = await startQuire()
// Warm up both paths (JIT, the store) before anything is measured.
for (const kind of ['websocket', 'stream']) await run(kind, q, 'one at a time', '/warm-up')
const rows = []
for (const pace of ['one at a time', `${TYPING_PER_SECOND}/s`]) {
  for (const kind of ['websocket', 'stream']) rows.push(await run(kind, q, pace))
}
await q.stop()
console.table(rows)
process.exit(0)
