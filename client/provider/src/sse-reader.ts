/**
 * Server-Sent Events from a stream of text (the HTML standard's event-stream
 * format): `event:` and `data:` fields, comments, lines ended by LF, CRLF or
 * CR, an event dispatched at each empty line. Linear in what it is given,
 * however long a line is (one frame of a big document is one line of
 * megabytes): each chunk is scanned once, and an unfinished line is kept in
 * pieces until it ends.
 */
export class SseReader {
  private partial: string[] = []
  /** The last chunk ended in CR: an LF starting the next one belongs to it. */
  private afterCr = false
  private event = ''
  private data: string[] = []

  constructor (private readonly dispatch: (event: string, data: string) => void) {}

  push (chunk: string): void {
    let pos = 0
    if (this.afterCr && chunk.startsWith('\n')) pos = 1
    this.afterCr = false
    // Where the next LF and CR are at or after `pos` (-1: none left in this chunk), found once each.
    let lf = chunk.indexOf('\n', pos)
    let cr = chunk.indexOf('\r', pos)
    while (pos < chunk.length) {
      if (lf !== -1 && lf < pos) lf = chunk.indexOf('\n', pos)
      if (cr !== -1 && cr < pos) cr = chunk.indexOf('\r', pos)
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr)
      if (end === -1) {
        this.partial.push(chunk.slice(pos))
        return
      }
      this.partial.push(chunk.slice(pos, end))
      const line = this.partial.length === 1 ? this.partial[0] : this.partial.join('')
      this.partial = []
      this.line(line)
      pos = end + 1
      if (end === cr) {
        if (pos === chunk.length) this.afterCr = true
        else if (chunk[pos] === '\n') pos++
      }
    }
  }

  private line (line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.dispatch(this.event || 'message', this.data.join('\n'))
      this.event = ''
      this.data = []
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.event = value
    else if (field === 'data') this.data.push(value)
  }
}
