/**
 * Quire's wire vocabulary, shared by the server, the browser provider and
 * the benchmark's clients: message types with their encoders and decoder,
 * close codes with their reasons and retry band, document-name rules, the
 * awareness update format, the empty update and state vector, and the
 * fallback stream's format. No Node imports, so it runs anywhere and can be
 * published as a package of its own.
 */
export * from './messages.js'
export * from './close-codes.js'
export * from './doc-name.js'
export * from './awareness.js'
export * from './backoff.js'
export * from './stream.js'
