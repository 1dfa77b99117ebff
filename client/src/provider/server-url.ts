/** The server's WebSocket base URL as every key and connection uses it: `ws(s)://host:port`, no trailing slash. */
export function toWebSocketBase (server: string): string {
  return server.replace(/\/+$/, '').replace(/^http(s?):\/\//, 'ws$1://')
}
