/**
 * @quire/provider: Quire's Yjs provider for any binding (Tiptap,
 * ProseMirror, CodeMirror, Monaco…). It speaks y-websocket's protocol plus
 * Quire's extensions (docs/protocol.md): acknowledged saves, jittered
 * reconnects, token refresh, read-only sessions, the HTTP fallback, the
 * per-person offline copy and the tab channel. `yjs`, `y-protocols` and
 * `lib0` are peer dependencies: the host app's copy of Yjs is the one used.
 */
export { QuireProvider, FOREIGN_TOKEN } from './quire-provider.js'
export type { Access, ClearReason, CloseInfo, ConnectionStatus, ProviderEvents, QuireProviderOptions, TransportKind } from './quire-provider.js'
export { tokenUser } from './token.js'
export type { TokenSource, TokenUser } from './token.js'
export { clearUserData } from './sign-out.js'
export type { ClearUserDataOptions } from './sign-out.js'
