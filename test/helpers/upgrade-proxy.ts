/**
 * A proxy like the corporate ones the fallback transport is for: it forwards
 * plain HTTP (streamed responses included) to a Quire server and, for
 * WebSocket upgrades, does what `mode` says: `refuse` answers them 403,
 * `swallow` never answers, `allow` passes them through. The mode can change
 * while it runs (a network that starts letting WebSockets through).
 */
import { createServer, request, type IncomingHttpHeaders } from 'node:http'
import { connect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'

export type UpgradeMode = 'refuse' | 'swallow' | 'allow'

export interface UpgradeProxy {
  port: number
  /** `http://127.0.0.1:<port>` */
  url: string
  /** `ws://127.0.0.1:<port>` */
  wsUrl: string
  mode: UpgradeMode
  /** Upgrades seen, by what was done with them. */
  upgrades: Record<UpgradeMode, number>
  close (): Promise<void>
}

export async function startUpgradeProxy (targetPort: number, mode: UpgradeMode): Promise<UpgradeProxy> {
  const sockets = new Set<Duplex>()
  const track = (s: Duplex): void => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  }
  const server = createServer((req, res) => {
    const upstream = request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    res.on('close', () => upstream.destroy())
    req.pipe(upstream)
  })
  server.on('connection', track)
  const proxy: UpgradeProxy = {
    port: 0,
    url: '',
    wsUrl: '',
    mode,
    upgrades: { refuse: 0, swallow: 0, allow: 0 },
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
  server.on('upgrade', (req, socket, head) => {
    track(socket)
    socket.on('error', () => socket.destroy())
    proxy.upgrades[proxy.mode]++
    if (proxy.mode === 'refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 24\r\nConnection: close\r\n\r\nWebSockets not allowed.\n')
      return
    }
    if (proxy.mode === 'swallow') return
    const upstream: Socket = connect(targetPort, '127.0.0.1', () => {
      upstream.write(requestHead(req.method ?? 'GET', req.url ?? '/', req.headers))
      if (head.length > 0) upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    track(upstream)
    upstream.on('error', () => socket.destroy())
    socket.on('close', () => upstream.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  proxy.port = typeof address === 'object' && address ? address.port : 0
  proxy.url = `http://127.0.0.1:${proxy.port}`
  proxy.wsUrl = `ws://127.0.0.1:${proxy.port}`
  return proxy
}

function requestHead (method: string, url: string, headers: IncomingHttpHeaders): string {
  const lines = [`${method} ${url} HTTP/1.1`]
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) lines.push(`${name}: ${v}`)
  }
  return lines.join('\r\n') + '\r\n\r\n'
}
