#!/usr/bin/env node
/**
 * Quick figures for the sync core on this machine (not the benchmark: that
 * is `npm run bench`). Needs `npm run build`. Usage: node scripts/measure-core.mjs
 *
 * 1. Relay throughput: W writers send small edits (one update message each)
 *    into one document as fast as acknowledgements allow; R readers apply
 *    what is relayed. Edits/s = edits that reached every reader / time.
 *    Embedded store, fsync on every batch. With window 1, each edit waits
 *    for its acknowledgement (durable) before the next: a round trip each.
 * 2. Memory per idle connection: RSS of the server process (from /metrics)
 *    before and after N idle stock y-websocket clients connect.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

// Every stock provider adds a process 'exit' listener.
process.setMaxListeners(0)

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
})

async function startQuire (env = {}) {
  const port = await freePort()
  const proc = spawn(process.execPath, ['dist/server/main.js'], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', DATA_DIR: mkdtempSync(join(tmpdir(), 'quire-measure-')), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  for (;;) {
    try { if ((await fetch(`${url}/healthz`)).ok) break } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50))
  }
  return { url, wsUrl: `ws://127.0.0.1:${port}`, stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGTERM') }) }
}

const metric = async (url, name) => {
  const text = await (await fetch(`${url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(name + ' '))
  return Number(line?.split(' ')[1])
}

function frame (type, sub, payload) {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, type)
  if (sub !== null) encoding.writeVarUint(e, sub)
  encoding.writeVarUint8Array(e, payload)
  return encoding.toUint8Array(e)
}

function open (url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.binaryType = 'nodebuffer'
    ws.on('open', () => resolve(ws))
    ws.on('error', reject)
  })
}

async function relayThroughput ({ writers, readers, editsPerWriter, window }) {
  const q = await startQuire({ RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '10000000' })
  const doc = 'measure/relay'
  const total = writers * editsPerWriter
  const readerDone = []
  for (let r = 0; r < readers; r++) {
    const ws = await open(`${q.wsUrl}/${doc}`)
    const ydoc = new Y.Doc()
    readerDone.push(new Promise((resolve) => {
      ws.on('message', (data) => {
        const d = decoding.createDecoder(new Uint8Array(data))
        if (decoding.readVarUint(d) !== 0) return
        const sub = decoding.readVarUint(d)
        if (sub === 0) return
        Y.applyUpdate(ydoc, decoding.readVarUint8Array(d))
        if (ydoc.getText('t').length === total) { ws.close(); resolve() }
      })
    }))
  }
  // Pre-encode every writer's edits (one character each, typed in order).
  const batches = []
  for (let w = 0; w < writers; w++) {
    const d = new Y.Doc()
    const frames = []
    d.on('update', (u) => frames.push(frame(0, 2, u)))
    for (let i = 0; i < editsPerWriter; i++) d.getText('t').insert(i, 'x')
    batches.push(frames)
  }
  const start = performance.now()
  await Promise.all(batches.map(async (frames) => {
    const ws = await open(`${q.wsUrl}/${doc}?ack=1`)
    let sent = 0
    let acked = 0
    await new Promise((resolve) => {
      const pump = () => { while (sent < frames.length && sent - acked < window) ws.send(frames[sent++]) }
      ws.on('message', (data) => {
        const d = decoding.createDecoder(new Uint8Array(data))
        if (decoding.readVarUint(d) !== 100) return
        acked = decoding.readVarUint(d)
        if (acked === frames.length) { ws.close(); resolve() } else pump()
      })
      pump()
    })
  }))
  await Promise.all(readerDone)
  const seconds = (performance.now() - start) / 1000
  const persists = await metric(q.url, 'quire_persist_seconds_count')
  await q.stop()
  return { edits: total, seconds, perSecond: Math.round(total / seconds), deliveries: Math.round(total * readers / seconds), storeWrites: persists }
}

async function idleMemory ({ connections, docs }) {
  const q = await startQuire({})
  const settle = async () => { await new Promise((r) => setTimeout(r, 1500)); return metric(q.url, 'quire_process_resident_memory_bytes') }
  // Warm up code paths with one client, then measure from there.
  const warm = new WebsocketProvider(q.wsUrl, 'warm', new Y.Doc(), { WebSocketPolyfill: WebSocket, disableBc: true })
  await new Promise((r) => warm.on('sync', (s) => s && r()))
  const before = await settle()
  const clients = []
  for (let i = 0; i < connections; i++) {
    const p = new WebsocketProvider(q.wsUrl, `idle/${i % docs}`, new Y.Doc(), { WebSocketPolyfill: WebSocket, disableBc: true })
    p.awareness.setLocalStateField('user', { name: `user ${i}`, color: '#30bced' })
    clients.push(p)
  }
  await Promise.all(clients.map((p) => new Promise((r) => p.synced ? r() : p.on('sync', (s) => s && r()))))
  const after = await settle()
  for (const p of clients) p.destroy()
  warm.destroy()
  await q.stop()
  return { connections, docs, rssBeforeMiB: +(before / 2 ** 20).toFixed(1), rssAfterMiB: +(after / 2 ** 20).toFixed(1), perConnectionKiB: +((after - before) / connections / 1024).toFixed(1) }
}

const results = {
  ack_roundtrip_1writer_window1: await relayThroughput({ writers: 1, readers: 1, editsPerWriter: 2000, window: 1 }),
  relay_1writer_1reader: await relayThroughput({ writers: 1, readers: 1, editsPerWriter: 20000, window: 500 }),
  relay_4writers_4readers: await relayThroughput({ writers: 4, readers: 4, editsPerWriter: 5000, window: 500 }),
  relay_4writers_50readers: await relayThroughput({ writers: 4, readers: 50, editsPerWriter: 2500, window: 500 }),
  idle_1000_connections_10_docs: await idleMemory({ connections: 1000, docs: 10 }),
  idle_1000_connections_1000_docs: await idleMemory({ connections: 1000, docs: 1000 }),
}
for (const [name, r] of Object.entries(results)) console.log(name.padEnd(34), JSON.stringify(r))
process.exit(0)
