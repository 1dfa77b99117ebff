/**
 * The WebSocket transport: the upgrade request goes through the endpoint's
 * admission (endpoint.ts) before any document is loaded or any message read.
 * A refused client still completes the handshake so it can be told why with
 * a close code (browsers cannot see an HTTP status on a failed upgrade); its
 * socket is then freed within CLOSE_GRACE_MS whether or not it answers.
 * Upgrades beyond MAX_PENDING_UPGRADES get HTTP 503 and no handshake.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type ServerOptions } from 'ws'
import { docNameFromPath } from '../../common/doc-name.js'
import { CLOSE } from '../../common/close-codes.js'
import { QuireSocket } from './socket.js'
import type { Connection } from './connection.js'
import type { Applicant, SyncEndpoint } from './endpoint.js'

/**
 * How long a closed socket may wait for the client's closing handshake
 * before it is cut off (ws waits 30 s by default). A refused or too slow
 * client that never answers would otherwise hold its socket, and what was
 * queued for it, that long.
 */
export const CLOSE_GRACE_MS = 1000

/** The answer to an upgrade beyond MAX_PENDING_UPGRADES: no handshake, the socket is dropped at once. */
const PENDING_FULL_BODY = 'too many pending upgrades\n'
const PENDING_FULL_RESPONSE = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n' +
  `Content-Type: text/plain\r\nContent-Length: ${PENDING_FULL_BODY.length}\r\n\r\n${PENDING_FULL_BODY}`

export class WebSocketUpgrades {
  private readonly wss: WebSocketServer

  constructor (private readonly endpoint: SyncEndpoint) {
    // closeTimeout is ws's (8.23+), not yet in its type definitions.
    const options: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      maxPayload: endpoint.deps.maxMessageBytes,
      perMessageDeflate: false,
      WebSocket: QuireSocket,
      closeTimeout: CLOSE_GRACE_MS,
    }
    this.wss = new WebSocketServer(options)
  }

  handleUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    const pending = this.endpoint.holdPending(socket)
    if (pending === null) {
      // The answer fits the fresh socket's send buffer: it leaves before the socket is destroyed.
      socket.write(PENDING_FULL_RESPONSE)
      socket.destroy()
      return
    }
    const applicant: Applicant = {
      transport: 'websocket',
      req,
      holder: socket,
      docName: docNameFromPath(req.url ?? '/'),
      get gone () { return socket.destroyed },
      // Complete the handshake only to close with `code`; the socket stays a pending upgrade until it is gone.
      refuse: (code: number, reason: string) => this.wss.handleUpgrade(req, socket, head, (ws) => ws.close(code, reason)),
      accept: (admitted) => {
        // handleUpgrade calls back synchronously: nobody else is admitted between the checks and accept.
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          pending.admitted()
          bind(ws as QuireSocket, this.endpoint.accept(ws as QuireSocket, admitted), this.endpoint)
        })
      },
    }
    this.endpoint.admit(applicant).catch((err: unknown) => {
      this.endpoint.deps.log.error({ err }, 'upgrade failed')
      socket.destroy()
    })
  }

  /**
   * Stop the WebSocket server. ws waits for every socket's closing handshake;
   * a client that never answers would hold the drain for ws's 30 s close
   * timeout, so after `graceMs` the stragglers are cut off.
   */
  async close (graceMs = 1000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.wss.close(() => resolve()))
    let grace: NodeJS.Timeout | undefined
    const cut = new Promise<void>((resolve) => {
      grace = setTimeout(() => {
        for (const ws of this.wss.clients) ws.terminate()
        resolve()
      }, graceMs)
    })
    await Promise.race([closed, cut])
    clearTimeout(grace)
    await closed
  }
}

/** What the socket receives goes to its connection; binary messages only. */
function bind (ws: QuireSocket, conn: Connection, endpoint: SyncEndpoint): void {
  const { metrics, log } = endpoint.deps
  ws.binaryType = 'nodebuffer'
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) conn.receive(data)
    else conn.close(CLOSE.badRequest, 'text frames are not accepted')
  })
  ws.on('close', () => conn.channelGone())
  ws.on('error', (err: Error & { code?: string }) => {
    // ws closes on bad frames itself (WS_ERR_*, translated by QuireSocket); count them like our own closes.
    if (err.code?.startsWith('WS_ERR_')) metrics.countClose('websocket', err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? CLOSE.tooLarge : CLOSE.badRequest)
    log.debug({ err, doc: conn.opts.docName }, 'socket error')
  })
}
