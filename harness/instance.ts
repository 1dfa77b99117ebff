/**
 * One server process on 127.0.0.1 and a fixed port, whatever the server
 * (Quire, Hocuspocus, the y-websocket server): started and awaited until it
 * listens, stopped gracefully (SIGTERM, so it can persist) and restarted on
 * the same port with the same data.
 */
import { spawnChild, stopChild, type Child } from './processes.js'
import { waitForPort } from './ports.js'

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
  /** ws://127.0.0.1:port */
  readonly url: string
  child: Child
  stop (): Promise<void>
  restart (): Promise<void>
}

export async function startInstance (spec: InstanceSpec): Promise<Instance> {
  const launch = async (): Promise<Child> => {
    const child = spawnChild(spec.label, spec.command, spec.args, { env: spec.env, cwd: spec.cwd })
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
