/**
 * A server under test as the scenarios see it: the wire protocol its clients
 * speak, one or two instance URLs (writers use the first, readers the last),
 * and the processes whose CPU and memory count as its cost.
 */
import type { ServerKind } from '../config.js'
import type { Instance } from '../../harness/instance.js'
import type { RedisServer } from './redis.js'

export type Wire = 'yws' | 'hocuspocus'

export interface ServerUnderTest {
  kind: ServerKind
  /** Name in the report. */
  label: string
  wire: Wire
  instances: Instance[]
  redis: RedisServer | null
  /** Extra connection query for this server's clients (Quire: none, or ack=1 when acks are wanted). */
  supportsAcks: boolean
  /** Process roots whose trees are measured: the instances and their Redis. */
  pids (): number[]
  /** Stop gracefully and start again with the same data (the document is then not in memory). */
  restart (): Promise<void>
  stop (): Promise<void>
}

export function makeServer (kind: ServerKind, label: string, wire: Wire, instances: Instance[], redis: RedisServer | null, stopExtra: () => Promise<void> = async () => {}): ServerUnderTest {
  return {
    kind,
    label,
    wire,
    instances,
    redis,
    supportsAcks: kind === 'quire' || kind === 'quire-fsync' || kind === 'quire-redis',
    pids: () => [...instances.map((i) => i.child.pid), ...(redis ? [redis.child.pid] : [])],
    async restart () {
      for (const i of instances) await i.stop()
      for (const i of instances) await i.restart()
    },
    async stop () {
      await Promise.all(instances.map((i) => i.stop()))
      if (redis) await redis.stop()
      await stopExtra()
    },
  }
}
