/**
 * The provider's event-stream reader (client/provider/src/sse-reader.ts) and
 * the base64 check of the fallback's POST lines (common/stream.ts): every
 * line ending, chunk boundaries anywhere, and lines far longer than a chunk.
 */
import { describe, expect, it } from 'vitest'
import { SseReader } from '../../client/provider/src/sse-reader.js'
import { isBase64 } from '../../common/stream.js'

/** The events `text` holds when it arrives cut at `cuts`. */
function read (text: string, cuts: number[] = []): Array<[string, string]> {
  const events: Array<[string, string]> = []
  const reader = new SseReader((event, data) => events.push([event, data]))
  let from = 0
  for (const cut of [...cuts, text.length]) {
    reader.push(text.slice(from, cut))
    from = cut
  }
  return events
}

describe('SseReader', () => {
  const stream = 'event: session\ndata: {"session":"s"}\n\n: a comment\ndata: AAE=\n\nevent: close\ndata: {"code":1012}\n\n'
  const expected: Array<[string, string]> = [['session', '{"session":"s"}'], ['message', 'AAE='], ['close', '{"code":1012}']]

  it('reads named and unnamed events, skipping comments', () => {
    expect(read(stream)).toEqual(expected)
  })

  it('gives the same events however the text is cut into chunks', () => {
    for (let i = 0; i <= stream.length; i++) expect(read(stream, [i])).toEqual(expected)
    expect(read(stream, Array.from({ length: stream.length }, (_, i) => i))).toEqual(expected)
  })

  it('takes CRLF and CR line endings, a CRLF cut between its two characters included', () => {
    for (const eol of ['\r\n', '\r']) {
      const text = stream.replaceAll('\n', eol)
      for (let i = 0; i <= text.length; i++) expect(read(text, [i])).toEqual(expected)
    }
  })

  it('joins several data lines with a newline; a field without a space or value; an event without data is not dispatched', () => {
    expect(read('data:a\ndata\ndata: b\n\nevent: x\n\n')).toEqual([['message', 'a\n\nb']])
  })

  it('reads a line of megabytes arriving in small chunks, in linear time', () => {
    const big = 'A'.repeat(8 * 1024 * 1024)
    const text = `data: ${big}\n\n`
    const events: string[] = []
    const reader = new SseReader((_, data) => events.push(data))
    const started = performance.now()
    for (let i = 0; i < text.length; i += 16 * 1024) reader.push(text.slice(i, i + 16 * 1024))
    expect(events).toHaveLength(1)
    expect(events[0].length).toBe(big.length)
    // Quadratic work (re-scanning or re-joining what came before on each chunk) would take minutes here.
    expect(performance.now() - started).toBeLessThan(5_000)
  })
})

describe('isBase64', () => {
  it('accepts padded standard base64, and nothing else', () => {
    for (const ok of ['', 'AAE=', 'AQEA', 'AA==', 'ab+/']) expect(isBase64(ok), ok).toBe(true)
    for (const bad of ['AAE', 'A===', '=AAA', 'AA=A', 'ab-_', 'AAE= ', '%%%%', 'AAAA\n']) expect(isBase64(bad), bad).toBe(false)
  })
})
