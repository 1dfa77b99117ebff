/** The server's WebSocket base URL as every key and connection uses it: `ws(s)://host:port`, no trailing slash. */
export function toWebSocketBase (server: string): string {
  return server.replace(/\/+$/, '').replace(/^http(s?):\/\//, 'ws$1://')
}

/** The same server's HTTP base URL (`http(s)://host:port`), for the fallback stream. */
export function toHttpBase (webSocketBase: string): string {
  return webSocketBase.replace(/^ws(s?):\/\//, 'http$1://')
}
