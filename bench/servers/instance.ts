/**
 * One server process on 127.0.0.1 and a fixed port: started, stopped
 * gracefully (SIGTERM, so it can persist) and restarted with the same data.
 */
import { join } from 'node:path'
import { config } from '../config.js'
import { spawnChild, stopChild, waitForPort, type Child } from '../processes.js'

/** node flags that write a CPU profile per process into BENCH_CPU_PROF_DIR/<label>, when it is set. */
export function profileArgs (label: string): string[] {
  if (!config.cpuProfDir) return []
  return ['--cpu-prof', '--cpu-prof-dir', join(config.cpuProfDir, label.replace(/\W+/g, '-'))]
}

export interface InstanceSpec {
  label: string
  command: string
  args: string[]
  env: Record<string, string>
  port: number
  cwd?: string
}

export interface Instance {
  readonly spec: InstanceSpec
  readonly port: number
  readonly url: string
  child: Child
  stop (): Promise<void>
  restart (): Promise<void>
}

export async function startInstance (spec: InstanceSpec): Promise<Instance> {
  const launch = async (): Promise<Child> => {
    const child = spawnChild(spec.label, spec.command, spec.args, spec.env, spec.cwd)
    try {
      await waitForPort(child, spec.port)
    } catch (err) {
      child.proc.kill('SIGKILL')
      throw err
    }
    return child
  }
  const instance: Instance = {
    spec,
    port: spec.port,
    url: `ws://127.0.0.1:${spec.port}`,
    child: await launch(),
    stop: () => stopChild(instance.child),
    async restart () {
      await stopChild(instance.child)
      instance.child = await launch()
    },
  }
  return instance
}
