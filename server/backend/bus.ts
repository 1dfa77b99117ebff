/**
 * The cross-instance seam. A single embedded instance uses LocalBus, which
 * carries nothing; the Redis bus relays to other instances.
 *
 * Updates reach other instances through the store's `append` (for Redis, the
 * append and the publish are one round trip); the bus delivers them and
 * awareness to subscribed documents here.
 */
import type { LogPosition } from './store.js'

export interface BusSink {
  /** Durable updates that other instances appended. Duplicates are harmless. */
  onRemoteUpdates (updates: Uint8Array[]): void
  /**
   * An awareness update (y-protocols format) from the clients of another
   * instance, `instance` (also the removal of a dead instance's clients, made
   * by the bus on its behalf). Only that instance may change those states.
   */
  onRemoteAwareness (update: Uint8Array, instance: string): void
}

export interface Bus {
  /** Start delivering a document's traffic; `position` is where its load stopped reading. */
  subscribe (name: string, position: LogPosition | null, sink: BusSink): Promise<void>
  unsubscribe (name: string): Promise<void>
  /** Fire and forget: awareness of this instance's clients for the others. */
  publishAwareness (name: string, update: Uint8Array): void
  /**
   * Call `listener` with the name of each document loaded here that another
   * instance deleted (the store's `delete` tells them), so that this
   * instance unloads it and closes its clients.
   */
  onDeleted (listener: (name: string) => void): void
  close (): Promise<void>
}

export class LocalBus implements Bus {
  async subscribe (): Promise<void> {}
  async unsubscribe (): Promise<void> {}
  publishAwareness (): void {}
  onDeleted (): void {}
  async close (): Promise<void> {}
}
