/** A list of byte strings in one file: each as a 32-bit little-endian length, then its bytes. */

export function packUpdates (updates: readonly Uint8Array[]): Buffer {
  const out: Buffer[] = []
  for (const u of updates) {
    const len = Buffer.alloc(4)
    len.writeUInt32LE(u.length)
    out.push(len, Buffer.from(u.buffer, u.byteOffset, u.length))
  }
  return Buffer.concat(out)
}

export function unpackUpdates (buf: Buffer): Uint8Array[] {
  const updates: Uint8Array[] = []
  for (let pos = 0; pos + 4 <= buf.length;) {
    const length = buf.readUInt32LE(pos)
    updates.push(new Uint8Array(buf.subarray(pos + 4, pos + 4 + length)))
    pos += 4 + length
  }
  return updates
}
