/**
 * The webhooks on Redis: two connections of their own (commands, and the
 * queue's blocking reads), the shared queue, ledger and endpoints, and the
 * liveness that lets one instance take over from a silent one.
 */
import type { Config } from '../../config.js'
import type { Logger } from '../../ops/log.js'
import { newInstanceId, redisTarget } from '../../backend/redis/backend.js'
import { connectData } from '../../backend/redis/connect.js'
import type { PartsContext, WebhookParts } from '../parts.js'
import { defineWebhookScripts } from './scripts.js'
import { RedisQueue } from './queue.js'
import { RedisLedger, parsePresent, type PresentUser } from './ledger.js'
import { RedisEndpointStore } from './endpoint-store.js'
import { Liveness } from './liveness.js'

export function createRedisParts (config: Config, log: Logger): WebhookParts {
  const target = redisTarget(config)
  const instanceId = newInstanceId()
  const wlog = log.child({ webhooks: instanceId })
  const client = defineWebhookScripts(connectData(target, wlog))
  const reader = connectData(target, wlog)
  let context: PartsContext | null = null
  const announce = ({ joined, left }: { joined: PresentUser[], left: PresentUser[] }): void => {
    for (const { doc, user } of joined) context?.joined(doc, user)
    for (const { doc, user } of left) context?.left(doc, user)
  }
  const resync = async (): Promise<void> => { if (context !== null) announce(await ledger.resync(context.presence.snapshot())) }
  const liveness: Liveness = new Liveness(client, instanceId, config.WEBHOOK_CLAIM_AFTER_MS, {
    takenOver: ({ left, claimed }) => {
      for (const { doc, user } of left.map(parsePresent)) context?.left(doc, user)
      queue.adopt(claimed)
    },
    revived: () => {
      // Another instance has the deliveries this one held then (those taken since are still its own);
      // this one's users left with it.
      ledger.stale = true
      void queue.pendingHere().then((mine) => context?.worker.abandon((key) => mine.has(key)), (err: unknown) => {
        wlog.warn({ err }, 'webhooks: could not tell which deliveries are still this instance\'s; letting go of all')
        context?.worker.abandon()
      })
    },
    beat: async () => { if (ledger.stale) await resync() },
  }, wlog)
  const queue = new RedisQueue(client, reader, instanceId, config.WEBHOOK_MAX_QUEUED, liveness.alive, wlog)
  const ledger = new RedisLedger(client, instanceId, liveness.alive)

  const start = (ctx: PartsContext): void => {
    context = ctx
    liveness.start()
  }

  return {
    queue,
    ledger,
    endpointStore: new RedisEndpointStore(client),
    start,
    close: async () => {
      await liveness.stop()
      await client.quit().catch(() => { client.disconnect() })
    },
  }
}
