/**
 * The embeddable editor as a library (dist/client/lib/quire-editor.js, an
 * ES module with its dependencies inside, and its type declarations).
 *
 *   import { mountEditor } from 'https://quire.example.com/lib/quire-editor.js'
 *   const { editor, provider, destroy } = mountEditor(el, { server, doc, user })
 *   await clearUserData({ server, token })   // on your sign-out page
 */
export { mountEditor } from './editor/mount.js'
export type { MountEditorOptions, MountedEditor } from './editor/mount.js'
export type { EditorStatus } from './editor/status.js'
export type { EditorUser } from './editor/user.js'
export { QuireProvider } from './provider/quire-provider.js'
export type { Access, ClearReason, CloseInfo, ConnectionStatus, ProviderEvents, QuireProviderOptions, TransportKind } from './provider/quire-provider.js'
export type { TokenSource, TokenUser } from './provider/token.js'
export { clearUserData } from './provider/sign-out.js'
export type { ClearUserDataOptions } from './provider/sign-out.js'
