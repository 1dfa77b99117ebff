/** A connection as a document sees it (server/transport/connection.ts is the real one). */
export interface Peer {
  readonly canWrite: boolean
  /**
   * Who is behind it, with auth on: the token's `sub` and `name`, which
   * replace `user.id` and `user.name` in its awareness states (docs/auth.md,
   * "Presence"). Null in open mode, where nobody is verified.
   */
  readonly user: { id: string, name?: string } | null
  /** Awareness client ids this peer owns (their states are removed when it leaves). */
  readonly clientIds: Set<number>
  /** Bytes sent but not yet handed to the network, when known (a cold document waits for them to leave). */
  readonly sendBacklog?: number
  send (frame: Uint8Array): void
  /** `count` of this peer's update messages are now durable. */
  acknowledge (count: number): void
  /**
   * The document is being reloaded from the store (see SharedDocument.taint):
   * drop this peer so that its client reconnects and syncs with the reloaded one.
   */
  evict (): void
  /**
   * Charge the event-loop time a request of this peer took (a fresh sync
   * encoding, integrating an update) to its work budget; over it, the peer
   * closes itself (4429).
   */
  charge (ms: number): void
  /** Over a budget the document keeps (docs/security.md, "Limits"): close with `code`. */
  refuse (code: number, reason: string): void
}
