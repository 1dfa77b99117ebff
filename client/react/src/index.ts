/**
 * @quire/react: the Quire editor as a React component and the hooks to
 * build your own around a Quire document (README.md, docs/embedding-react.md).
 */
export { QuireEditor } from './quire-editor.js'
export type { QuireEditorProps } from './quire-editor.js'
export { useQuireDocument } from './use-quire-document.js'
export type { UseQuireDocument, UseQuireDocumentOptions } from './use-quire-document.js'
export { useConnectionStatus, usePresence, useSaved } from './provider-hooks.js'
export type { Presence, PresenceUser } from './provider-hooks.js'
export type { EditorStatus, EditorUser, MountedEditor } from '@quire/editor'
export type { ConnectionStatus, QuireProvider } from '@quire/provider'
