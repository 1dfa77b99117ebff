/**
 * How far each loaded document has applied its log, shared by the bus (which
 * advances it) and the store (which may only compact that far).
 *
 * `applied` = P means the document's Y.Doc holds every log entry at
 * positions 1..P. A snapshot built from that Y.Doc may therefore replace the
 * entries up to P, but no further: an entry another instance appended before
 * this instance's last write may still be on its way here over pub/sub.
 */
export interface AppliedLog {
  applied: number
}

export class AppliedPositions {
  private readonly docs = new Map<string, AppliedLog>()

  track (name: string, log: AppliedLog): void { this.docs.set(name, log) }
  forget (name: string, log: AppliedLog): void {
    if (this.docs.get(name) === log) this.docs.delete(name)
  }

  get (name: string): number | undefined { return this.docs.get(name)?.applied }

  /**
   * This instance appended positions (prev, last]; the document already holds
   * those updates. When nothing foreign sits between, they count as applied.
   */
  noteOwnAppend (name: string, prev: number, last: number): void {
    const log = this.docs.get(name)
    if (log && log.applied >= prev && log.applied < last) log.applied = last
  }
}
