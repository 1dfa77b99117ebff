/**
 * A webhook endpoint for tests: a real HTTP server on 127.0.0.1 that keeps
 * every request it receives, checks its signature, and answers as the test
 * says: a status, or `hang` (no answer until `release`).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import { EventEmitter } from 'node:events'
import type { AddressInfo } from 'node:net'
import { verifySignature } from '../../server/webhooks/signature.js'
import type { WebhookBody } from '../../server/webhooks/events.js'
import { DEADLINE_MS, waitOn } from './wait.js'

export interface Received {
  /** 1 for the first request this receiver got. */
  n: number
  path: string
  headers: IncomingHttpHeaders
  body: string
  json: WebhookBody
  /** The Quire-Signature header signs the body with the receiver's secret. */
  verified: boolean
  /** What it was answered: a status; `hang` while held; `aborted` when the sender went away first. */
  answer: number | 'hang' | 'aborted'
}

export type Responder = (request: Received) => number | 'hang'

export interface Receiver {
  url: string
  /** What signatures are checked against (the admin API may hand out the secret only once the receiver runs). */
  secret: string
  readonly received: Received[]
  /** How the following requests are answered (200 unless told). */
  respond: Responder
  /** Answer every held request with `status`. */
  release (status?: number): void
  /** Requests answered 2xx, optionally of one event type. */
  delivered (type?: string): Received[]
  /** Resolves with every request so far once `holds` is true of them. */
  until (holds: (all: Received[]) => boolean, what: string, timeoutMs?: number): Promise<Received[]>
  close (): Promise<void>
}

export async function startReceiver (secret: string): Promise<Receiver> {
  const received: Received[] = []
  const held = new Map<Received, ServerResponse>()
  const changes = new EventEmitter()
  const answer = (r: Received, res: ServerResponse, status: number): void => {
    held.delete(r)
    if (r.answer === 'aborted') return
    r.answer = status
    res.writeHead(status, { 'content-type': 'text/plain' })
    res.end('ok\n')
    changes.emit('change')
  }
  const receiver: Receiver = {
    url: '',
    secret,
    received,
    respond: () => 200,
    release: (status = 200) => { for (const [r, res] of [...held]) answer(r, res, status) },
    delivered: (type) => received.filter((r) => typeof r.answer === 'number' && r.answer >= 200 && r.answer < 300 && (type === undefined || r.json.type === type)),
    until: (holds, what, timeoutMs = DEADLINE_MS) => waitOn((on) => {
      changes.on('change', on)
      return () => changes.off('change', on)
    }, () => holds(received) ? received : undefined, what, timeoutMs),
    close: async () => {
      receiver.release(503)
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const r: Received = {
        n: received.length + 1,
        path: req.url ?? '',
        headers: req.headers,
        body,
        json: JSON.parse(body) as WebhookBody,
        verified: verifySignature(receiver.secret, req.headers['quire-signature'] as string | undefined, body),
        answer: 'hang',
      }
      received.push(r)
      res.on('close', () => {
        if (r.answer !== 'hang') return
        r.answer = 'aborted'
        held.delete(r)
        changes.emit('change')
      })
      const how = receiver.respond(r)
      if (how === 'hang') {
        held.set(r, res)
        changes.emit('change')
      } else {
        answer(r, res, how)
      }
    })
  })
  server.keepAliveTimeout = 1_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  return receiver
}

/** How many requests carried each event id. */
export function countById (all: Received[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const r of all) counts.set(r.json.id, (counts.get(r.json.id) ?? 0) + 1)
  return counts
}
