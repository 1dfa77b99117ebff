/**
 * Real redis-server processes on 127.0.0.1 and free ports, with AOF on:
 * `appendfsync always` unless told otherwise (so a kill -9 loses nothing
 * acknowledged; the bench asks for `everysec`, as a production Redis runs),
 * optionally with a password. They can be killed (-9 by default) and started
 * again on the same port and data. Also a three-master Redis Cluster built
 * with `redis-cli --cluster create`.
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { findProgram, locateBinary, REDIS_CLI, REDIS_SERVER } from './binaries.js'
import { tempDir } from './paths.js'
import { freePort } from './ports.js'
import { DEFAULT_WAIT_MS, killChild, spawnChild, type Child } from './processes.js'

export interface RedisProcess {
  port: number
  url: string
  dir: string
  child: Child
  proc: ChildProcess
  /** A plain client for inspecting and poking this server (disconnected by kill). */
  client (): Redis
  kill (signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>
  /** Start again on the same port and data directory. */
  restart (): Promise<RedisProcess>
  /** Kill it and remove its data. */
  stop (): Promise<void>
}

export interface RedisOptions {
  /** Names it in errors (default "redis-server :port"). */
  label?: string
  port?: number
  dir?: string
  /** AOF fsync policy; `always` unless told otherwise. */
  appendfsync?: 'always' | 'everysec' | 'no'
  extraArgs?: string[]
  /** requirepass (and masterauth, for clusters); the helper's own clients log in with it. */
  password?: string
}

/** The line redis-server prints once it takes commands. */
const READY = 'Ready to accept connections'

/** The installed redis-server's version, for the bench's report. */
export function redisVersion (): string {
  try {
    const bin = locateBinary(REDIS_SERVER.name, REDIS_SERVER.envVar)
    if (!bin) return 'not installed'
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8' })
    return /v=(\S+)/.exec(out)?.[1] ?? out.trim()
  } catch {
    return 'unknown'
  }
}

export async function startRedis (opts: RedisOptions = {}): Promise<RedisProcess> {
  const bin = findProgram(REDIS_SERVER)
  const port = opts.port ?? await freePort()
  const dir = opts.dir ?? tempDir('redis')
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--appendonly', 'yes', '--appendfsync', opts.appendfsync ?? 'always', '--save', '',
    '--daemonize', 'no', '--loglevel', 'notice', '--logfile', '',
    ...(opts.extraArgs ?? []),
    ...(opts.password ? ['--requirepass', opts.password, '--masterauth', opts.password] : []),
  ]
  const child = spawnChild(opts.label ?? `redis-server :${port}`, bin, args)
  await child.waitForLine(READY)
  const clients: Redis[] = []
  const r: RedisProcess = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    child,
    proc: child.proc,
    client: () => {
      const c = new Redis({ host: '127.0.0.1', port, password: opts.password, maxRetriesPerRequest: 1, lazyConnect: false })
      c.on('error', () => {})
      clients.push(c)
      return c
    },
    kill: async (signal = 'SIGKILL', timeoutMs = DEFAULT_WAIT_MS) => {
      for (const c of clients.splice(0)) c.disconnect()
      await killChild(child, signal, timeoutMs)
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

/** Until every node sees every slot served, the cluster does not take commands everywhere. */
async function waitClusterOk (master: RedisProcess, size: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  const c = master.client()
  const deadline = Date.now() + timeoutMs
  try {
    for (;;) {
      const info = await c.cluster('INFO') as string
      if (info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${size}`)) return
      if (Date.now() > deadline) throw new Error(`redis cluster node :${master.port} not ok with ${size} nodes within ${timeoutMs} ms:\n${info}`)
      await sleep(50)
    }
  } finally {
    c.disconnect()
  }
}

/** `size` masters (three by default), no replicas, every slot assigned and the cluster state ok. */
export async function startRedisCluster (size = 3, opts: { password?: string } = {}): Promise<RedisCluster> {
  const cli = findProgram(REDIS_CLI)
  const masters: RedisProcess[] = []
  for (let i = 0; i < size; i++) {
    const busPort = await freePort()
    masters.push(await startRedis({
      extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort), '--cluster-node-timeout', '3000'],
      password: opts.password,
    }))
  }
  const auth = opts.password ? ['-a', opts.password, '--no-auth-warning'] : []
  await promisify(execFile)(cli, [...auth, '--cluster', 'create', ...masters.map((m) => `127.0.0.1:${m.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: DEFAULT_WAIT_MS })
  for (const m of masters) await waitClusterOk(m, size)
  return {
    masters,
    seeds: masters.map((m) => `127.0.0.1:${m.port}`).join(','),
    stop: async () => { await Promise.all(masters.map((m) => m.stop())) },
  }
}
