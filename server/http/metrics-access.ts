/**
 * Who may read /metrics (docs/configuration.md, "Metrics"). The metrics name
 * documents, count connections and expose process details, so they are not
 * for everyone who can reach the editor:
 *
 * - METRICS_TOKEN set: every scrape needs `Authorization: Bearer <token>` (401 without).
 * - neither METRICS_TOKEN nor METRICS_PORT: only requests from this machine
 *   (a loopback peer address) that did not come through a proxy (no
 *   forwarding header), so a Prometheus or an operator on the host scrapes
 *   with no setup and nothing is published through a load balancer.
 * - METRICS_PORT set: the separate listener serves them (bound to
 *   METRICS_HOST, 127.0.0.1 by default) and the main port does not; the
 *   token, when set, is required there too.
 */
import type { IncomingMessage } from 'node:http'
import { bearerMatches } from './bearer.js'

export interface MetricsVerdict { status: 200 | 401 | 403, body: string }

const LOOPBACK_PEER = /^(127\.|::1$|::ffff:127\.)/

/** Headers that proxies add: a request bearing one was relayed for someone else. */
const FORWARDED = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const

export function isLocalRequest (req: IncomingMessage): boolean {
  return LOOPBACK_PEER.test(req.socket.remoteAddress ?? '') && FORWARDED.every((h) => req.headers[h] === undefined)
}

export function createMetricsAccess (opts: { token: string | undefined, separatePort: boolean }) {
  return function verdict (req: IncomingMessage): MetricsVerdict {
    if (opts.token !== undefined) {
      return bearerMatches(req, opts.token)
        ? { status: 200, body: '' }
        : { status: 401, body: 'metrics need Authorization: Bearer <METRICS_TOKEN>\n' }
    }
    if (opts.separatePort || isLocalRequest(req)) return { status: 200, body: '' }
    return { status: 403, body: 'metrics are served to this machine only: set METRICS_TOKEN or METRICS_PORT to scrape them from elsewhere\n' }
  }
}
