/** A frame that breaks the wire format; the server closes its connection with 4400 (CLOSE.badRequest). */
export class ProtocolError extends Error {}
