/**
 * "Is every local change stored on the server?" from the server's
 * acknowledgements (type 100: how many of this connection's update-carrying
 * sync messages — sync step 2 and update, empty ones included — are durable).
 *
 * A local change is unconfirmed until a connection has answered the server's
 * sync step 1 (which carries everything the server lacks) and every message
 * sent on it is acknowledged. Against a server that does not acknowledge
 * (a stock y-websocket server) sending is the best we can know.
 */
export class SavedState {
  private sent = 0
  private acked = 0
  /** null until the first message of the connection tells whether the server acknowledges. */
  private acks: boolean | null = null
  private answeredStep1 = false
  private unconfirmed = false

  constructor (private readonly onChange: (saved: boolean) => void) {}

  get saved (): boolean {
    return !this.unconfirmed && this.acked >= this.sent
  }

  /** A new connection: its counts start from zero. */
  connectionOpened (): void {
    this.track(() => {
      this.sent = 0
      this.acked = 0
      this.acks = null
      this.answeredStep1 = false
    })
  }

  /** The first message told us whether the server acknowledges (`session` is Quire's type 101). */
  firstMessage (isSession: boolean): void {
    if (this.acks !== null) return
    this.acks = isSession
    if (!isSession) this.track(() => this.settle(this.sent))
  }

  /** The document changed here (typed, loaded from IndexedDB, …), not from the server. */
  localChange (): void {
    this.track(() => { this.unconfirmed = true })
  }

  /** An update-carrying sync message went out; `answer` when it answers the server's step 1. */
  messageSent (answer: boolean): void {
    this.track(() => {
      this.sent++
      if (answer) this.answeredStep1 = true
      if (this.acks === false) this.settle(this.sent)
    })
  }

  acknowledged (count: number): void {
    this.track(() => this.settle(Math.min(count, this.sent)))
  }

  /**
   * The connection is gone. A local change it did not acknowledge is still
   * marked unconfirmed (only a full acknowledgement clears the mark), so the
   * counts can simply start over.
   */
  connectionClosed (): void {
    this.track(() => {
      this.sent = 0
      this.acked = 0
    })
  }

  private settle (acked: number): void {
    this.acked = Math.max(this.acked, acked)
    if (this.answeredStep1 && this.acked >= this.sent) this.unconfirmed = false
  }

  private track (change: () => void): void {
    const before = this.saved
    change()
    if (this.saved !== before) this.onChange(this.saved)
  }
}
