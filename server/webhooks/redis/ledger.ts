/**
 * The presence ledger on Redis (presence.ts): per [document, user], on how
 * many instances they are present, and per instance whom it holds, so that
 * another instance can let its users leave if it dies (liveness.ts). When a
 * call fails (Redis unreachable) the ledger is marked stale and the next
 * good beat makes this instance's entries match who is present here.
 */
import type { WebhookUser } from '../events.js'
import type { PresenceLedger } from '../presence.js'
import { KEYS, type WebhookClient } from './scripts.js'

export interface PresentUser { doc: string, user: WebhookUser }

/** Longest a presence change waits for this instance to be listed alive (Redis connecting) before it counts as failed. */
const ALIVE_WAIT_MS = 5_000

export class RedisLedger implements PresenceLedger {
  /** A call failed: this instance's entries may not match who is present here. */
  stale = false
  private readonly mine: string

  /** `alive`: resolves once this instance is listed alive (liveness.ts), so another can let its users leave if it dies. */
  constructor (private readonly client: WebhookClient, instanceId: string, private readonly alive: Promise<void>) {
    this.mine = KEYS.presentOf(instanceId)
  }

  async arrive (doc: string, user: WebhookUser): Promise<boolean> {
    return await this.call(() => this.client.quireWebhookArrive(KEYS.present, this.mine, member(doc, user), JSON.stringify({ doc, user }))) === 1
  }

  async depart (doc: string, user: WebhookUser): Promise<boolean> {
    return await this.call(() => this.client.quireWebhookDepart(KEYS.present, this.mine, member(doc, user))) === 1
  }

  /** Make this instance's entries exactly `present`; returns who joined and who left anywhere by doing so. */
  async resync (present: PresentUser[]): Promise<{ joined: PresentUser[], left: PresentUser[] }> {
    const pairs = present.flatMap(({ doc, user }) => [member(doc, user), JSON.stringify({ doc, user })])
    const [joined, left] = await this.client.quireWebhookResync(KEYS.present, this.mine, ...pairs)
    this.stale = false
    return { joined: joined.map(parsePresent), left: left.map(parsePresent) }
  }

  private async call (script: () => Promise<number>): Promise<number> {
    try {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error('not listed alive yet: Redis unreachable')), ALIVE_WAIT_MS) })
      await Promise.race([this.alive, late]).finally(() => clearTimeout(timer))
      return await script()
    } catch (err) {
      this.stale = true
      throw err
    }
  }
}

function member (doc: string, user: WebhookUser): string {
  return JSON.stringify([doc, user.id])
}

export function parsePresent (text: string): PresentUser {
  return JSON.parse(text) as PresentUser
}
