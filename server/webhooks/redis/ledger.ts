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

export class RedisLedger implements PresenceLedger {
  /** A call failed: this instance's entries may not match who is present here. */
  stale = false
  private readonly mine: string

  constructor (private readonly client: WebhookClient, instanceId: string) {
    this.mine = KEYS.presentOf(instanceId)
  }

  async arrive (doc: string, user: WebhookUser): Promise<boolean> {
    return await this.guard(this.client.quireWebhookArrive(KEYS.present, this.mine, member(doc, user), JSON.stringify({ doc, user }))) === 1
  }

  async depart (doc: string, user: WebhookUser): Promise<boolean> {
    return await this.guard(this.client.quireWebhookDepart(KEYS.present, this.mine, member(doc, user))) === 1
  }

  /** Make this instance's entries exactly `present`; returns who joined and who left anywhere by doing so. */
  async resync (present: PresentUser[]): Promise<{ joined: PresentUser[], left: PresentUser[] }> {
    const pairs = present.flatMap(({ doc, user }) => [member(doc, user), JSON.stringify({ doc, user })])
    const [joined, left] = await this.client.quireWebhookResync(KEYS.present, this.mine, ...pairs)
    this.stale = false
    return { joined: joined.map(parsePresent), left: left.map(parsePresent) }
  }

  private async guard (call: Promise<number>): Promise<number> {
    try {
      return await call
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
