/** The machine and software versions the report names. */
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { cpus, loadavg, totalmem } from 'node:os'
import { fromRoot } from '../harness/paths.js'
import { redisVersion } from '../harness/redis.js'

export interface MachineInfo {
  cores: number
  cpuModel: string
  memoryGiB: number
  loadAtStart: number[]
  versions: Record<string, string>
  commit: string
}

function packageVersion (name: string): string {
  try {
    return (JSON.parse(readFileSync(fromRoot('node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'not installed'
  }
}

function cpuModel (): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    return m?.[1].trim() ?? cpus()[0]?.model ?? 'unknown'
  } catch {
    return cpus()[0]?.model ?? 'unknown'
  }
}

function gitCommit (): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: fromRoot(), encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

export function machineInfo (): MachineInfo {
  return {
    cores: cpus().length,
    cpuModel: cpuModel(),
    memoryGiB: totalmem() / 2 ** 30,
    loadAtStart: loadavg(),
    commit: gitCommit(),
    versions: {
      node: process.version,
      yjs: packageVersion('yjs'),
      'y-protocols': packageVersion('y-protocols'),
      ws: packageVersion('ws'),
      '@hocuspocus/server': packageVersion('@hocuspocus/server'),
      '@hocuspocus/extension-redis': packageVersion('@hocuspocus/extension-redis'),
      'y-websocket (server)': packageVersion('y-websocket-v2'),
      'y-leveldb': packageVersion('y-leveldb'),
      'redis-server': redisVersion(),
    },
  }
}
