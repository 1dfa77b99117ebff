/**
 * The fallback transport behind deploy/haproxy.cfg (docs/deployment.md, "The
 * fallback transport behind a load balancer"): a stream's POSTs must reach
 * the instance holding its stream. With a real HAProxy in front of two
 * instances on Redis, balancing every request round robin, the config's
 * stick table (keyed by the session id the stream's response names) sends
 * every POST to its stream's instance; without it, POSTs land elsewhere and
 * get 404. Skipped, saying so, when haproxy is not installed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { QuireProcess } from '../harness/quire.js'
import { startRedis, type RedisProcess } from '../harness/redis.js'
import { freePort } from '../harness/ports.js'
import { HAPROXY, locateBinary } from '../harness/binaries.js'
import { fleet } from './helpers/fleet.js'
import { connectClient, whenDoc, whenSynced } from './helpers/clients.js'
import { openStream, type RawStream } from './helpers/raw-stream.js'
import { encodeUpdate, isType, readServerFrame, textUpdate } from './helpers/frames.js'
import { waitFor } from './helpers/wait.js'
import { readMetrics } from './helpers/metrics.js'

const haproxy = locateBinary(HAPROXY.name, HAPROXY.envVar)
if (haproxy === null) console.warn('deploy-fallback.test.ts: haproxy not installed (apt-get install haproxy): the fallback behind deploy/haproxy.cfg is not exercised')

describe.skipIf(haproxy === null)('the fallback transport behind deploy/haproxy.cfg', () => {
  const { start, stopAll } = fleet()
  const balancers: ChildProcess[] = []
  const streams: RawStream[] = []
  const clients: Array<{ destroy (): void }> = []
  let redis: RedisProcess
  let instances: QuireProcess[]

  beforeAll(async () => {
    redis = await startRedis()
    instances = await Promise.all([start({ REDIS_URL: redis.url }), start({ REDIS_URL: redis.url })])
  })
  afterAll(async () => {
    for (const s of streams) s.abort()
    for (const c of clients) c.destroy()
    for (const lb of balancers) lb.kill('SIGKILL')
    await stopAll()
    await redis?.kill()
  })

  /** HAProxy with the deploy config, round robin over both instances; `sticky` false drops the stick table. */
  async function balancer (sticky: boolean): Promise<string> {
    const port = await freePort()
    let cfg = readFileSync('deploy/haproxy.cfg', 'utf8')
      .replace(/^(\s*)bind :8080$/m, `$1bind 127.0.0.1:${port}`)
      .replace(/ resolvers docker init-addr libc,none/, '')
      .replace(/^(\s*)balance uri$/m, '$1balance roundrobin')
      .replace(/^\s*server quire-1 .*\n\s*server quire-2 .*$/m, `  server quire-1 127.0.0.1:${instances[0].port}\n  server quire-2 127.0.0.1:${instances[1].port}`)
    expect(cfg).toContain('balance roundrobin')
    expect(cfg).toMatch(/stick match url_param\(session\)/)
    if (!sticky) cfg = cfg.replace(/^\s*stick.*$/gm, '')
    const file = join(mkdtempSync(join(tmpdir(), 'quire-haproxy-')), 'haproxy.cfg')
    writeFileSync(file, cfg)
    balancers.push(spawn(haproxy!, ['-db', '-f', file], { stdio: 'ignore' }))
    const url = `http://127.0.0.1:${port}`
    await waitFor(() => fetch(`${url}/healthz`).then((r) => r.status, () => 0), (status) => status === 200, 'HAProxy passing /healthz to Quire')
    return url
  }

  async function stream (url: string): Promise<RawStream> {
    const s = await openStream(url)
    streams.push(s)
    await s.next(isType('sync-step1'), 'the stream to join its document through HAProxy')
    return s
  }

  it('with the stick table, every POST reaches its stream\'s instance, whichever instance that is', async () => {
    const lb = await balancer(true)
    const reader = connectClient(lb.replace('http', 'ws'), 'lb/fallback')
    clients.push(reader)
    await whenSynced(reader, 'a WebSocket reader through HAProxy')
    // Round robin puts consecutive streams on both instances.
    const writers = [await stream(`${lb}/sync/lb/fallback?ack=1`), await stream(`${lb}/sync/lb/fallback?ack=1`)]
    const onEach = await Promise.all(instances.map(async (q) => (await readMetrics(q.url)).get('quire_connections_by_transport{transport="stream"}')))
    expect(onEach).toEqual([1, 1])
    const statuses: number[] = []
    for (let round = 0; round < 3; round++) {
      for (const [i, w] of writers.entries()) statuses.push((await w.post([encodeUpdate(textUpdate(`[${i}.${round}]`))])).status)
    }
    expect(statuses).toEqual(Array(6).fill(204))
    for (const w of writers) {
      await w.until(() => w.frames.some((f) => { const m = readServerFrame(f); return m.type === 'ack' && m.count === 3 }), 'three acks on each stream')
    }
    await whenDoc(reader.doc, () => (reader.text.toString().match(/\[\d\.\d\]/g) ?? []).length === 6, 'the reader to get all six edits')
  })

  it('without it, round robin sends POSTs to the other instance: 404 (why docs/deployment.md asks for it)', async () => {
    const lb = await balancer(false)
    const s = await stream(`${lb}/sync/lb/unsticky?ack=1`)
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await s.post([encodeUpdate(textUpdate(`x${i}`))])).status)
    expect(statuses).toContain(404)
  })
})
