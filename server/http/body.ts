/** Reading a request body with a size limit, without holding more than the limit. */
import type { IncomingMessage } from 'node:http'

/** The body, or null when it is over `limit` bytes (read to its end all the same, so an answer can be sent). */
export function readBody (req: IncomingMessage, limit: number): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      // Past the limit, keep reading (so the answer can be sent) but keep nothing.
      if (size <= limit) chunks.push(chunk)
    })
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}
