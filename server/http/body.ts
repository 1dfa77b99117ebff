/** Reading a request body with a size limit. */
import type { IncomingMessage } from 'node:http'

/** The body, or null past `limit` bytes (the rest is still read and dropped, so the answer can be sent). */
export function readBody (req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) chunks.push(chunk)
    })
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}
