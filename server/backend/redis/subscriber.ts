/**
 * Channel subscriptions that survive reconnects and say when they were
 * restored, so the bus can catch up what it may have missed meanwhile.
 *
 * Standalone Redis: one connection, classic SUBSCRIBE. Redis Cluster: one
 * connection per master, SSUBSCRIBE on the master that owns the channel's
 * slot (sharded pub/sub keeps a document's traffic on its shard); channels
 * follow their slot when the cluster's slot map changes.
 */
import type { Cluster, Redis } from 'ioredis'
import type { Logger } from '../../ops/log.js'
import { connectSubscriber, whenReady } from './connect.js'
import { keySlot } from './slot.js'

export interface SubscriberEvents {
  message (channel: string, message: Buffer): void
  /** These channels were subscribed again after a connection came back: messages may have been lost. */
  restored (channels: string[]): void
}

export interface ChannelSubscriber {
  /** Resolves once the server confirmed the subscription. */
  subscribe (channel: string): Promise<void>
  unsubscribe (channel: string): Promise<void>
  /** Whether every connection that carries subscriptions is up. */
  readonly ready: boolean
  close (): Promise<void>
}

/** How long a subscription waits for its connection to come up. */
const SUBSCRIBE_WAIT_MS = 3_000

/** Subscriptions on one connection. */
export class ConnectionSubscriber implements ChannelSubscriber {
  readonly channels = new Set<string>()
  private connectedBefore = false

  constructor (
    readonly connection: Redis,
    private readonly sharded: boolean,
    private readonly events: SubscriberEvents,
    private readonly log: Logger,
  ) {
    connection.on(sharded ? 'smessageBuffer' : 'messageBuffer', (channel: Buffer, message: Buffer) => {
      events.message(channel.toString(), message)
    })
    // Every connection starts without subscriptions (autoResubscribe is off): restore ours.
    connection.on('ready', () => void this.restore())
  }

  get ready (): boolean { return this.connection.status === 'ready' }

  async subscribe (channel: string): Promise<void> {
    this.channels.add(channel)
    try {
      await whenReady(this.connection, SUBSCRIBE_WAIT_MS)
      await this.send(true, channel)
    } catch (err) {
      this.channels.delete(channel)
      throw err
    }
  }

  async unsubscribe (channel: string): Promise<void> {
    if (!this.channels.delete(channel)) return
    if (this.ready) await this.send(false, channel).catch(() => {})
  }

  async close (): Promise<void> {
    this.channels.clear()
    await this.connection.quit().catch(() => this.connection.disconnect())
  }

  private send (subscribe: boolean, channel: string): Promise<unknown> {
    const c = this.connection
    if (this.sharded) return subscribe ? c.ssubscribe(channel) : c.sunsubscribe(channel)
    return subscribe ? c.subscribe(channel) : c.unsubscribe(channel)
  }

  private async restore (): Promise<void> {
    const reconnected = this.connectedBefore
    this.connectedBefore = true
    const channels = [...this.channels]
    if (channels.length === 0) return
    try {
      await Promise.all(channels.map((c) => this.send(true, c)))
    } catch (err) {
      // The connection dropped again; its next 'ready' tries again.
      this.log.warn({ err }, 'restoring subscriptions failed')
      return
    }
    if (reconnected) this.log.info({ channels: channels.length }, 'pub/sub reconnected; catching up')
    this.events.restored(channels.filter((c) => this.channels.has(c)))
  }
}

/** Sharded subscriptions across a Redis Cluster's masters. */
export class ClusterSubscriber implements ChannelSubscriber {
  private readonly nodes = new Map<string, ConnectionSubscriber>()
  /** channel -> node key ("host:port") it is subscribed on. */
  private readonly owners = new Map<string, string>()
  private readonly timer: NodeJS.Timeout

  constructor (
    private readonly cluster: Cluster,
    private readonly events: SubscriberEvents,
    private readonly log: Logger,
    reconcileMs = 2_000,
  ) {
    this.timer = setInterval(() => this.reconcile(), reconcileMs)
    this.timer.unref()
  }

  get ready (): boolean {
    if (this.cluster.status !== 'ready') return false
    for (const node of this.nodes.values()) if (node.channels.size > 0 && !node.ready) return false
    return true
  }

  async subscribe (channel: string): Promise<void> {
    const owner = this.ownerOf(channel)
    if (owner === undefined) throw new Error('redis cluster slot map unknown (not connected)')
    this.owners.set(channel, owner)
    await this.node(owner).subscribe(channel)
  }

  async unsubscribe (channel: string): Promise<void> {
    const owner = this.owners.get(channel)
    this.owners.delete(channel)
    if (owner !== undefined) await this.nodes.get(owner)?.unsubscribe(channel)
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
    this.owners.clear()
    await Promise.all([...this.nodes.values()].map((n) => n.close()))
    this.nodes.clear()
  }

  private ownerOf (channel: string): string | undefined {
    return this.cluster.slots[keySlot(channel)]?.[0]
  }

  private node (key: string): ConnectionSubscriber {
    let node = this.nodes.get(key)
    if (node === undefined) {
      const i = key.lastIndexOf(':')
      // Node connections log in as the cluster client does.
      const { username, password } = this.cluster.options.redisOptions ?? {}
      const connection = connectSubscriber({ host: key.slice(0, i), port: Number(key.slice(i + 1)), username, password }, this.log)
      node = new ConnectionSubscriber(connection, true, this.events, this.log)
      this.nodes.set(key, node)
    }
    return node
  }

  /** Move channels whose slot changed master (failover, resharding), or whose subscription failed. */
  private reconcile (): void {
    if (this.cluster.status !== 'ready') return
    for (const [channel, was] of this.owners) {
      const owner = this.ownerOf(channel)
      if (owner === undefined) continue
      const node = this.node(owner)
      if (owner === was && (node.channels.has(channel) || !node.ready)) continue
      if (owner !== was) void this.nodes.get(was)?.unsubscribe(channel)
      this.owners.set(channel, owner)
      node.subscribe(channel).then(() => {
        this.log.info({ channel, node: owner }, 'channel moved to another node; catching up')
        this.events.restored([channel])
      }, (err: unknown) => this.log.warn({ err, channel, node: owner }, 'subscribing on the new node failed; will retry'))
    }
    for (const [key, node] of this.nodes) {
      if (node.channels.size === 0 && !this.isMaster(key)) {
        this.nodes.delete(key)
        void node.close()
      }
    }
  }

  private isMaster (key: string): boolean {
    return this.cluster.nodes('master').some((n) => `${n.options.host}:${n.options.port}` === key)
  }
}
