/**
 * What differs between the two wire formats the bench speaks: where a
 * client connects, what it sends first, and the prefix in front of every
 * y-protocols message. Everything after the prefix is the same y-protocols
 * message in both.
 */
export interface WireFormat {
  /** WebSocket URL for a document on a server whose base is `ws://host:port`. */
  url (base: string, doc: string, query: string): string
  /** Bytes in front of every message, both ways (Hocuspocus: the document name). */
  prefix (doc: string): Uint8Array
  /** Frames sent right after the socket opens (Hocuspocus: the auth message). */
  hello (doc: string): Uint8Array[]
  /** Offset of the y-protocols message in a received frame. */
  bodyOffset (frame: Uint8Array): number
}
