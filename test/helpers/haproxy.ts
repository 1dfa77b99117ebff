/**
 * A real HAProxy (Debian's `haproxy`, harness/binaries.ts) in front of
 * Quire instances on 127.0.0.1, configured as deploy/haproxy.cfg is: the
 * file itself with its listen address and servers pointed here, its health
 * checks optionally quickened, and a stats socket through which a test
 * waits until HAProxy sees an instance UP or DOWN.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { fromRoot, tempDir } from '../../harness/paths.js'
import { freePort } from '../../harness/ports.js'
import { killChild, spawnChild, type Child } from '../../harness/processes.js'
import { waitFor } from './wait.js'

export interface Backend { name: string, port: number }

export interface ConfigOptions {
  /**
   * Replaces the shipped `inter 2s` of the health checks (e.g. `250ms`), so a
   * test need not wait seconds. A check may still take up to 2 s to answer
   * (`timeout check`), as with the shipped interval: on a busy machine an
   * instance is not taken out just for answering slowly.
   */
  checkInter?: string
  /** A stats socket at this path (level admin). */
  statsSocket?: string
}

/** deploy/haproxy.cfg listening on 127.0.0.1:`port`, balancing over `servers` on 127.0.0.1. */
export function haproxyConfig (port: number, servers: Backend[], opts: ConfigOptions = {}): string {
  let cfg = readFileSync(fromRoot('deploy', 'haproxy.cfg'), 'utf8')
    .replace(/^(\s*)bind :8080$/m, `$1bind 127.0.0.1:${port}`)
    .replace(/ resolvers docker init-addr libc,none/, '')
    .replace(/^\s*server quire-1 .*\n\s*server quire-2 .*$/m, servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port}`).join('\n'))
  if (!servers.every((s) => cfg.includes(`server ${s.name} 127.0.0.1:${s.port}`))) throw new Error('deploy/haproxy.cfg no longer has the shape this helper edits')
  if (opts.checkInter !== undefined) {
    cfg = cfg.replace(/ check inter 2s /, ` check inter ${opts.checkInter} `).replace(/^(\s*)timeout connect (.*)$/m, '$1timeout connect $2\n$1timeout check 2s')
  }
  if (opts.statsSocket !== undefined) cfg = cfg.replace(/^global$/m, `global\n  stats socket ${opts.statsSocket} level admin`)
  return cfg
}

export interface Haproxy {
  port: number
  url: string
  wsUrl: string
  child: Child
  /** The status HAProxy gives each server now (UP, DOWN, "UP 1/2" while going down, …). */
  statuses (): Promise<Map<string, string>>
  /** How often HAProxy has taken `server` out (its `chkdown` count). */
  checksFailed (server: string): Promise<number>
  /** Resolves once HAProxy says `server` is `status`. */
  whenStatus (server: string, status: 'UP' | 'DOWN', what: string, timeoutMs?: number): Promise<void>
  stop (): Promise<void>
}

/** Start HAProxy (found with `haproxy`, the HAPROXY program of harness/binaries.ts) with deploy/haproxy.cfg over `servers`. */
export async function startHaproxy (binary: string, servers: Backend[], opts: { checkInter?: string } = {}): Promise<Haproxy> {
  const port = await freePort()
  const dir = tempDir('haproxy')
  const socket = join(dir, 'stats.sock')
  const file = join(dir, 'haproxy.cfg')
  writeFileSync(file, haproxyConfig(port, servers, { ...opts, statsSocket: socket }))
  const child = spawnChild(`haproxy :${port}`, binary, ['-db', '-f', file])
  /** One column of `show stat`, by server name. */
  const column = async (name: string): Promise<Map<string, string>> => {
    const lines = (await ask(socket, 'show stat')).split('\n')
    const header = lines[0].replace(/^# /, '').split(',')
    const [sv, col] = [header.indexOf('svname'), header.indexOf(name)]
    const map = new Map<string, string>()
    for (const line of lines.slice(1)) {
      const cols = line.split(',')
      if (cols.length > col) map.set(cols[sv], cols[col])
    }
    return map
  }
  const statuses = (): Promise<Map<string, string>> => column('status')
  await waitFor(() => statuses().catch(() => new Map<string, string>()), (m) => servers.every((s) => m.has(s.name)), 'HAProxy to answer on its stats socket')
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    child,
    statuses,
    checksFailed: async (server) => Number((await column('chkdown')).get(server) ?? NaN),
    whenStatus: async (server, status, what, timeoutMs) => {
      await waitFor(() => statuses().then((m) => m.get(server)), (s) => s === status, what, timeoutMs)
    },
    stop: async () => { await killChild(child) },
  }
}

/** One command on HAProxy's stats socket; resolves with its whole answer. */
function ask (socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket)
    let answer = ''
    conn.setTimeout(2000, () => conn.destroy(new Error(`HAProxy did not answer "${command}"`)))
    conn.on('connect', () => conn.write(`${command}\n`))
    conn.on('data', (chunk: Buffer) => { answer += chunk.toString() })
    conn.on('end', () => resolve(answer))
    conn.on('error', reject)
  })
}
