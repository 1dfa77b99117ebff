/**
 * HEADERS_TIMEOUT_MS: a socket must send a complete HTTP request head (an
 * upgrade included) within this long, or it is closed. Until then it is not
 * a WebSocket and no other budget sees it, so without this a client could
 * hold sockets forever by sending nothing, or an unfinished request head.
 *
 * Node's own `headersTimeout` covers a head that has begun (it answers 408),
 * but only when its check runs (every 30 s by default: here every second at
 * most) and not a socket that sends nothing at all: for those the socket's
 * idle timeout is set from the moment it connects until its first request.
 */
import type { Server, ServerOptions } from 'node:http'
import type { Socket } from 'node:net'

/** Options for `createServer`: Node's own head deadline, checked often enough to matter. */
export function requestDeadlineOptions (headersTimeoutMs: number): ServerOptions {
  return { headersTimeout: headersTimeoutMs, connectionsCheckingInterval: Math.min(1000, headersTimeoutMs) }
}

/**
 * Close sockets that send nothing within `headersTimeoutMs`; call
 * `onRefused` for each socket closed by either deadline.
 */
export function enforceRequestDeadline (server: Server, headersTimeoutMs: number, onRefused: () => void): void {
  const served = new WeakSet<Socket>()
  server.on('connection', (socket: Socket) => {
    // Node's own timeout handler (registered first) destroys a socket that
    // times out with no request in flight; this one only counts it.
    socket.setTimeout(headersTimeoutMs)
    socket.once('timeout', () => { if (!served.has(socket)) onRefused() })
  })
  const serve = (socket: Socket): void => {
    served.add(socket)
    // From here on Node's keep-alive timeout, the request's own handling
    // or the WebSocket's keep-alive decide how long the socket lives.
    socket.setTimeout(0)
  }
  server.on('request', (req) => serve(req.socket))
  server.on('upgrade', (req) => serve(req.socket))
  // Node answers 408 to a head that did not finish in time; counted here.
  server.on('clientError', (err: Error & { code?: string }, socket) => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') onRefused()
    respondToClientError(err, socket as Socket)
  })
}

/** What Node does on a client error when nobody listens for them (Node 20's `socketOnError`). */
function respondToClientError (err: Error & { code?: string }, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage
  if (socket.writable && !inFlight?.headersSent) {
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout'
      : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
        : '400 Bad Request'
    socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`)
  }
  socket.destroy(err)
}
