/**
 * Real redis-server processes for tests, on 127.0.0.1 and free ports, with
 * AOF on (appendfsync always, so a kill -9 loses nothing acknowledged), so
 * tests can kill -9 them and start them again on the same port and data.
 * Also a three-master Redis Cluster built with `redis-cli --cluster create`.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { findBinary } from './binaries.js'
import { freePort } from './ports.js'
import { DEADLINE_MS, waitFor, within } from './wait.js'

export interface RedisProcess {
  port: number
  url: string
  dir: string
  proc: ChildProcess
  /** A plain client for inspecting and poking this server. */
  client (): Redis
  kill (signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>
  /** Start again on the same port and data directory. */
  restart (): Promise<RedisProcess>
  /** Kill it and remove its data. */
  stop (): Promise<void>
}

interface StartOptions {
  port?: number
  dir?: string
  /** AOF fsync policy; tests default to `always`. */
  appendfsync?: 'always' | 'everysec' | 'no'
  extraArgs?: string[]
  /** requirepass (and masterauth, for clusters); the helper's own clients log in with it. */
  password?: string
}

/** Servers still running; killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>()
process.once('exit', () => { for (const proc of running) proc.kill('SIGKILL') })

export async function startRedis (opts: StartOptions = {}): Promise<RedisProcess> {
  const bin = findBinary('redis-server', 'REDIS_SERVER_BIN', 'redis-server')
  const port = opts.port ?? await freePort()
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'quire-redis-'))
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--appendonly', 'yes', '--appendfsync', opts.appendfsync ?? 'always', '--save', '',
    '--daemonize', 'no', '--loglevel', 'notice', '--logfile', '',
    ...(opts.extraArgs ?? []),
    ...(opts.password ? ['--requirepass', opts.password, '--masterauth', opts.password] : []),
  ]
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(proc)
  const exited = new Promise<void>((resolve) => proc.once('exit', () => {
    running.delete(proc)
    resolve()
  }))
  await within(new Promise<void>((resolve, reject) => {
    let out = ''
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('Ready to accept connections')) resolve()
    })
    proc.stderr!.on('data', (chunk: Buffer) => { out += chunk.toString() })
    void exited.then(() => reject(new Error(`redis-server exited before it was ready:\n${out}`)))
  }), DEADLINE_MS, `redis-server on port ${port} to be ready`)
  const clients: Redis[] = []
  const r: RedisProcess = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    proc,
    client: () => {
      const c = new Redis({ host: '127.0.0.1', port, password: opts.password, maxRetriesPerRequest: 1, lazyConnect: false })
      c.on('error', () => {})
      clients.push(c)
      return c
    },
    kill: async (signal = 'SIGKILL', timeoutMs = DEADLINE_MS) => {
      for (const c of clients.splice(0)) c.disconnect()
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      await within(exited, timeoutMs, `redis-server on port ${port} to exit after ${signal}`)
    },
    restart: () => startRedis({ ...opts, port, dir }),
    stop: async () => {
      await r.kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return r
}

export interface RedisCluster {
  masters: RedisProcess[]
  /** host:port seeds, as REDIS_CLUSTER_NODES takes them. */
  seeds: string
  stop (): Promise<void>
}

/** Three masters, no replicas, every slot assigned and the cluster state ok. */
export async function startRedisCluster (size = 3, opts: { password?: string } = {}): Promise<RedisCluster> {
  const cli = findBinary('redis-cli', 'REDIS_CLI_BIN', 'redis-tools')
  const masters: RedisProcess[] = []
  for (let i = 0; i < size; i++) {
    const busPort = await freePort()
    masters.push(await startRedis({
      extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort), '--cluster-node-timeout', '3000'],
      password: opts.password,
    }))
  }
  const auth = opts.password ? ['-a', opts.password, '--no-auth-warning'] : []
  await promisify(execFile)(cli, [...auth, '--cluster', 'create', ...masters.map((m) => `127.0.0.1:${m.port}`), '--cluster-replicas', '0', '--cluster-yes'])
  // Each node must see every slot served before the cluster takes commands everywhere.
  for (const m of masters) {
    const c = m.client()
    await waitFor(() => c.cluster('INFO') as Promise<string>, (info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${size}`),
      `cluster node ${m.port} to see ${size} nodes and every slot served`)
    c.disconnect()
  }
  return {
    masters,
    seeds: masters.map((m) => `127.0.0.1:${m.port}`).join(','),
    stop: async () => { await Promise.all(masters.map((m) => m.stop())) },
  }
}
