/**
 * y-websocket framing (Quire and the reference server): the document is the
 * URL path, every frame is one bare y-protocols message.
 */
import type { WireFormat } from './wire.js'

const EMPTY = new Uint8Array(0)

export const ywsWire: WireFormat = {
  url: (base, doc, query) => `${base}/${encodeURIComponent(doc)}${query ? `?${query}` : ''}`,
  prefix: () => EMPTY,
  hello: () => [],
  bodyOffset: () => 0,
}
