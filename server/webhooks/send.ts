/**
 * One webhook request: POST the body, signed, and classify what came back
 * (docs/webhooks.md, "Retries"): 2xx delivered; 410 gone; any other status,
 * no answer within the timeout, or a network error: to be retried.
 * Redirects are not followed (a 3xx is retried like any other status).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { WEBHOOK_RESULT, type WebhookResult } from '../ops/metrics.js'
import { ATTEMPT_HEADER, EVENT_HEADER, ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './signature.js'
import { BlockedAddress, guardedLookup, refusalOfHost } from './address-policy.js'
import type { Endpoint } from './endpoints.js'
import type { Delivery } from './events.js'

export const USER_AGENT = 'Quire-Webhooks/1'

export interface SendOptions {
  timeoutMs: number
  /** WEBHOOKS_ALLOW_PRIVATE: admin-added endpoints may point at private addresses. */
  allowPrivate: boolean
  /** Aborts the request (the instance is closing). */
  signal?: AbortSignal
}

export interface SendOutcome {
  result: WebhookResult
  status?: number
  /** What went wrong, for the log. */
  error?: string
}

export async function send (endpoint: Endpoint, delivery: Delivery, attempt: number, opts: SendOptions): Promise<SendOutcome> {
  const guarded = endpoint.source === 'api' && !opts.allowPrivate
  if (guarded) {
    const refusal = await refusalOfHost(endpoint.url)
    // A name that does not resolve now may later: only a private address is final.
    if (refusal !== null && !refusal.endsWith('does not resolve')) return { result: WEBHOOK_RESULT.blocked, error: refusal }
  }
  const url = new URL(endpoint.url)
  const body = Buffer.from(delivery.body)
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve) => {
    let settled = false
    const finish = (outcome: SendOutcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      resolve(outcome)
    }
    const req = request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': body.length,
        'user-agent': USER_AGENT,
        [ID_HEADER]: delivery.eventId,
        [EVENT_HEADER]: delivery.type,
        [ATTEMPT_HEADER]: String(attempt),
        [SIGNATURE_HEADER]: signatureHeader(endpoint.secret, delivery.body),
      },
      ...(guarded ? { lookup: guardedLookup } : {}),
    }, (res: IncomingMessage) => {
      // The answer's body is not read; drain it so the connection can be reused.
      res.resume()
      const status = res.statusCode ?? 0
      if (status >= 200 && status < 300) return finish({ result: WEBHOOK_RESULT.delivered, status })
      if (status === 410) return finish({ result: WEBHOOK_RESULT.gone, status })
      finish({ result: WEBHOOK_RESULT.httpError, status })
    })
    const timer = setTimeout(() => {
      finish({ result: WEBHOOK_RESULT.timeout, error: `no answer within ${opts.timeoutMs} ms` })
      req.destroy()
    }, opts.timeoutMs)
    const onAbort = (): void => {
      finish({ result: WEBHOOK_RESULT.networkError, error: 'aborted: instance closing' })
      req.destroy()
    }
    opts.signal?.addEventListener('abort', onAbort)
    req.on('error', (err) => {
      if (err instanceof BlockedAddress) return finish({ result: WEBHOOK_RESULT.blocked, error: err.message })
      finish({ result: WEBHOOK_RESULT.networkError, error: err.message })
    })
    req.end(body)
  })
}
