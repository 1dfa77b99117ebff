/// <reference types="@tiptap/starter-kit" preserve="true" />
// (Keeps StarterKit's commands — toggleBold, toggleHeading… — in the types of
// `mounted.editor` for apps that do not import @tiptap/starter-kit themselves.)
/**
 * @quire/editor: Quire's collaborative editor (Tiptap, toolbar, carets,
 * presence, typing indicator, status, offline copy) as `mountEditor()` and
 * the `<quire-editor>` element (docs/embedding.md). Importing it has no
 * side effects and touches no DOM, so server-side rendering can import it;
 * `defineQuireEditor()` registers the element.
 */
export { mountEditor } from './mount.js'
export type { MountEditorOptions, MountedEditor } from './mount.js'
export { defineQuireEditor } from './element.js'
export type { DefineQuireEditorOptions, QuireEditorElement, QuireEditorEventMap } from './element.js'
export type { EditorStatus } from './status.js'
export { normalizeUser, userFromToken } from './user.js'
export type { EditorUser } from './user.js'
export { EDITOR_CSS } from './styles-css.js'
export { QuireProvider, clearUserData, tokenUser } from '@quire/provider'
export type { Access, ClearReason, ClearUserDataOptions, CloseInfo, ConnectionStatus, ProviderEvents, QuireProviderOptions, TokenSource, TokenUser, TransportKind } from '@quire/provider'
