/** lib0 varUint reading straight from a received frame, without a decoder object. */
export function readVarUint (buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0
  let mult = 1
  for (;;) {
    const byte = buf[pos++]
    if (byte === undefined) throw new RangeError('varUint beyond end of frame')
    value += (byte & 0x7f) * mult
    if (byte < 0x80) return [value, pos]
    mult *= 128
  }
}

/** Skip a lib0 varString / varUint8Array (length-prefixed bytes); returns the position after it. */
export function skipVarBytes (buf: Uint8Array, pos: number): number {
  const [length, start] = readVarUint(buf, pos)
  return start + length
}
