/**
 * The Redis bus: delivers other instances' updates (published by the append
 * script) and awareness to the documents loaded here, fills gaps from the
 * log, catches every document up after its subscription was restored, and
 * removes the awareness states of instances that stopped heartbeating (its
 * own heartbeat runs from construction to close).
 */
import type { Gauge } from 'prom-client'
import type { Bus, BusSink } from '../bus.js'
import type { LogPosition } from '../store.js'
import type { Logger } from '../../ops/log.js'
import { docKeys } from './keys.js'
import type { ScriptedClient } from './scripts.js'
import { decodeBusMessage, encodeAwarenessMessage, encodeQueryMessage } from './messages.js'
import { DocFeed, type ReadLog } from './feed.js'
import type { AppliedPositions } from './positions.js'
import { PresenceDirectory } from './presence-directory.js'
import type { ChannelSubscriber } from './subscriber.js'
import { Heartbeat } from './heartbeat.js'

interface Subscription {
  name: string
  channel: string
  sink: BusSink
  feed: DocFeed
  presence: PresenceDirectory
}

export interface RedisBusOptions {
  client: ScriptedClient
  instanceId: string
  publishCommand: 'publish' | 'spublish'
  positions: AppliedPositions
  readLog: ReadLog
  subscriber: ChannelSubscriber
  log: Logger
  /** quire_timers_active: feeds' retry timers count there. */
  timers: Gauge
  /** Also told when instances stop heartbeating (the presence registry, live.ts). */
  onDeadInstances?: (instances: string[]) => void
}

export class RedisBus implements Bus {
  private readonly docs = new Map<string, Subscription>()
  private readonly byChannel = new Map<string, Subscription>()
  private readonly heartbeat: Heartbeat
  private deleted: (name: string) => void = () => {}

  constructor (private readonly opts: RedisBusOptions) {
    this.heartbeat = new Heartbeat(opts.client, opts.instanceId, (dead) => this.handleDeadInstances(dead), opts.log)
    this.heartbeat.start()
    // Beat at once when Redis comes (back), so this instance is seen alive quickly.
    opts.client.on('ready', () => this.heartbeat.reconnected())
  }

  get ready (): boolean { return this.opts.subscriber.ready }

  /** Instances that stopped heartbeating (their entries in the presence registry do not count). */
  get deadInstances (): ReadonlySet<string> { return this.heartbeat.deadInstances }

  /** Where a document's feed stands (tests, metrics). */
  appliedPosition (name: string): number | undefined { return this.docs.get(name)?.feed.applied }

  async subscribe (name: string, position: LogPosition | null, sink: BusSink): Promise<void> {
    const { channel } = docKeys(name)
    const { readLog, instanceId, log, positions, timers } = this.opts
    const sub: Subscription = {
      name,
      channel,
      sink,
      feed: new DocFeed(name, position === null ? 0 : Number(position), sink, readLog, instanceId, log, timers),
      presence: new PresenceDirectory(),
    }
    this.docs.set(name, sub)
    this.byChannel.set(channel, sub)
    positions.track(name, sub.feed)
    try {
      await this.opts.subscriber.subscribe(channel)
      // Whatever was appended between the load and the subscription.
      await sub.feed.catchUp()
    } catch (err) {
      this.drop(sub)
      throw err
    }
    this.publish(channel, encodeQueryMessage(instanceId))
  }

  async unsubscribe (name: string): Promise<void> {
    const sub = this.docs.get(name)
    if (sub === undefined) return
    this.drop(sub)
    await this.opts.subscriber.unsubscribe(sub.channel)
  }

  publishAwareness (name: string, update: Uint8Array): void {
    const sub = this.docs.get(name)
    if (sub === undefined) return
    try {
      sub.presence.noteLocal(update)
    } catch (err) {
      this.opts.log.warn({ err, doc: name }, 'local awareness update not understood')
      return
    }
    this.publish(sub.channel, encodeAwarenessMessage(this.opts.instanceId, update))
  }

  onDeleted (listener: (name: string) => void): void {
    this.deleted = listener
  }

  /** A message on a document channel (SubscriberEvents.message). */
  handleMessage (channel: string, message: Buffer): void {
    const sub = this.byChannel.get(channel)
    if (sub === undefined) return
    const msg = decodeBusMessage(message)
    if (msg === null) {
      this.opts.log.warn({ doc: sub.name }, 'malformed message on a document channel ignored')
      return
    }
    if (msg.kind === 'updates') return sub.feed.receive(msg)
    if (msg.instance === this.opts.instanceId) return
    if (msg.kind === 'deleted') return this.deleted(sub.name)
    if (msg.kind === 'query') {
      const states = sub.presence.localSnapshot()
      if (states) this.publish(channel, encodeAwarenessMessage(this.opts.instanceId, states))
      return
    }
    try {
      sub.presence.noteRemote(msg.instance, msg.update)
    } catch (err) {
      this.opts.log.warn({ err, doc: sub.name }, 'malformed awareness from another instance ignored')
      return
    }
    sub.sink.onRemoteAwareness(msg.update, msg.instance)
  }

  /** Subscriptions came back after a drop (SubscriberEvents.restored): catch up, ask for presence. */
  handleRestored (channels: string[]): void {
    for (const channel of channels) {
      const sub = this.byChannel.get(channel)
      if (sub === undefined) continue
      sub.feed.catchUp().catch(() => {})
      this.publish(channel, encodeQueryMessage(this.opts.instanceId))
    }
  }

  /** Instances whose heartbeat expired: their clients are gone. */
  handleDeadInstances (instances: string[]): void {
    for (const sub of this.docs.values()) {
      for (const instance of instances) {
        const removal = sub.presence.removeInstance(instance)
        if (removal) sub.sink.onRemoteAwareness(removal, instance)
      }
    }
    this.opts.onDeadInstances?.(instances)
  }

  async close (): Promise<void> {
    await this.heartbeat.stop()
    for (const sub of [...this.docs.values()]) this.drop(sub)
    await this.opts.subscriber.close()
  }

  private drop (sub: Subscription): void {
    if (this.docs.get(sub.name) !== sub) return
    sub.feed.close()
    this.docs.delete(sub.name)
    this.byChannel.delete(sub.channel)
    this.opts.positions.forget(sub.name, sub.feed)
  }

  /** Fire and forget: awareness is renewed anyway, and updates never travel this way. */
  private publish (channel: string, message: Buffer): void {
    const { client, publishCommand, log } = this.opts
    const sent = publishCommand === 'spublish' ? client.spublish(channel, message) : client.publish(channel, message)
    sent.catch((err: unknown) => log.debug({ err }, 'publish failed'))
  }
}
