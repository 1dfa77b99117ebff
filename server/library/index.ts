/**
 * `@quire/server`: Quire's sync server as a library (docs/server-library.md).
 * What a host app imports; everything else is internal.
 */
export { createQuireServer, ON_CHANGE_DEBOUNCE_MS, ON_CHANGE_MAX_WAIT_MS } from './quire-server.js'
export type { QuireServer, QuireServerOptions, QuireHooks, AttachOptions } from './quire-server.js'
export type { QuireSettings, SettingValue } from './settings.js'
export { Refusal } from './authenticate.js'
export type { AuthenticateHook, AuthenticateContext, AuthenticatedUser } from './authenticate.js'
export type { ConnectionEvent, ConnectionHook } from './connections.js'
export type { ChangeEvent, ChangeHook } from './changes.js'
export { ConfigError } from '../config.js'
export type { Config } from '../config.js'
export { MemoryStore } from '../backend/memory-store.js'
export type {
  DocStore, StoredDoc, AppendResult, LogPosition, DocPage, DocSummary,
  NewVersion, VersionInfo, VersionClaim, VersionUser, VersionReason, StoredVersion,
} from '../backend/store.js'
