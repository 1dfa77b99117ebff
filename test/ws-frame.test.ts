/**
 * Frames encoded once for every peer (server/transport/ws-frame.ts) must be
 * byte for byte what ws itself would send for the payload, at each length
 * encoding boundary (7-bit, 16-bit, 64-bit lengths) and on both sides of the
 * copy limit.
 */
import { describe, expect, it } from 'vitest'
import { Sender } from 'ws'
import { wireFrame } from '../server/transport/ws-frame.js'

const wsFrame = (payload: Buffer): Buffer =>
  Buffer.concat(Sender.frame(payload, { fin: true, opcode: 2, mask: false, readOnly: false, rsv1: false }))

const ours = (payload: Uint8Array): Buffer => {
  const frame = wireFrame(payload)
  return Buffer.isBuffer(frame) ? frame : Buffer.concat(frame)
}

describe('wireFrame', () => {
  it.each([0, 1, 125, 126, 127, 16 * 1024, 16 * 1024 + 1, 65535, 65536, 200_000])('matches ws for a %i-byte payload', (length) => {
    const payload = Buffer.alloc(length)
    for (let i = 0; i < length; i++) payload[i] = (i * 31) & 0xff
    expect(ours(new Uint8Array(payload))).toEqual(wsFrame(payload))
  })

  it('frames a payload that is a view into a larger buffer by its own bytes only', () => {
    const backing = new Uint8Array(300_000).fill(7)
    backing.set([1, 2, 3], 1000)
    expect(ours(backing.subarray(1000, 1003))).toEqual(Buffer.from([0x82, 3, 1, 2, 3]))
    const big = backing.subarray(500, 100_500)
    expect(ours(big)).toEqual(wsFrame(Buffer.from(big)))
  })

  it('builds the frame once for repeated sends of one payload, again for another', () => {
    const a = new Uint8Array([0, 2, 1, 9])
    const b = new Uint8Array([0, 2, 1, 9])
    const first = wireFrame(a)
    expect(wireFrame(a)).toBe(first)
    expect(wireFrame(b)).not.toBe(first)
    expect(wireFrame(b)).toEqual(first)
  })
})
