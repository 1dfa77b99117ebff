/**
 * The connection status and saved indicator (docs/editor.md, "For automated checks"):
 * `data-status` is connecting | connected | offline, `data-saved` is "true"
 * once every local change is stored on the server, `data-transport` says
 * what carries the connection (websocket | stream), and a hint shows while
 * it is the fallback stream.
 */
import { FOREIGN_TOKEN, type Access, type ClearReason, type CloseInfo, type ConnectionStatus, type TransportKind } from '@quire/provider'
import { CLOSE, RATE_LIMIT_REASONS } from '@quire/common'

export interface EditorStatus {
  status: ConnectionStatus
  /** What carries the connection: `websocket`, or `stream` (the HTTP fallback, where WebSockets are refused); null while none is open. */
  transport: TransportKind | null
  saved: boolean
  synced: boolean
  access: Access
  /** The editor takes input: write access, and not refused (4401/4403) or cleared. */
  editable: boolean
  /** Set when the server refused the connection for good (4400–4499). */
  stoppedBy: CloseInfo | null
  /** Set when the document was emptied here and its local copy dropped (lost access, signed out). */
  cleared: ClearReason | null
  /** The document is not shown: refused for good with 4401/4403, or cleared. */
  hidden: boolean
  /** What to tell the user about it. */
  problem: string | null
}

const REFUSALS: Record<number, string> = {
  [CLOSE.badRequest]: 'This document name is not valid.',
  [CLOSE.unauthorized]: 'Your sign-in is missing or has expired. Sign in again, then reload.',
  [CLOSE.forbidden]: 'You do not have access to this document.',
  [CLOSE.gone]: 'This document was deleted.',
  [CLOSE.tooLarge]: 'A change was too large for the server.',
  [CLOSE.rateLimited]: 'Too many changes too quickly. Reload to continue.',
}

/** Which budget a 4429 was about, by its reason (docs/security.md, "Limits"). */
const RATE_LIMITED: Record<string, string> = {
  [RATE_LIMIT_REASONS.connectionsPerAddress]: 'Too many connections from your network. Close some tabs, then reload.',
  [RATE_LIMIT_REASONS.connectionsPerUser]: 'You have this server open in too many places. Close some tabs, then reload.',
  [RATE_LIMIT_REASONS.work]: 'This page asked the server for too much at once. Reload to continue.',
}

const CLEARED: Record<ClearReason, string> = {
  forbidden: 'You do not have access to this document. Its copy on this device was removed.',
  'signed-out': 'You signed out. Your documents are no longer kept on this device.',
  cleared: 'This document was removed from this device.',
}

/** Refusals that lock the editor and hide what this device kept: who was refused may not be who wrote it. */
export function locksEditor (code: number): boolean {
  return code === CLOSE.unauthorized || code === CLOSE.forbidden
}

export function describeRefusal (info: CloseInfo): string {
  if (info.code === CLOSE.unauthorized && info.reason === FOREIGN_TOKEN) return 'This editor was opened for someone else. Reload to sign in as you.'
  if (info.code === CLOSE.rateLimited && RATE_LIMITED[info.reason] !== undefined) return RATE_LIMITED[info.reason]
  return REFUSALS[info.code] ?? `The server closed the connection (${info.code}${info.reason ? `: ${info.reason}` : ''}).`
}

export function describeProblem (stoppedBy: CloseInfo | null, cleared: ClearReason | null): string | null {
  if (cleared !== null) return CLEARED[cleared]
  return stoppedBy ? describeRefusal(stoppedBy) : null
}

function label (s: EditorStatus): string {
  if (s.cleared === 'signed-out') return 'Signed out'
  if (s.stoppedBy || s.cleared) return 'Disconnected'
  if (s.status === 'connecting') return 'Connecting…'
  if (s.status === 'offline') return s.saved ? 'Offline' : 'Offline · edits kept here'
  if (s.access === 'read') return 'Read only'
  return s.saved ? 'Saved' : 'Saving…'
}

/** Shown next to the status while the fallback stream carries the connection. */
export const STREAM_HINT = 'HTTP fallback'
const STREAM_HINT_TITLE = 'This network does not let WebSockets through: connected over a slower HTTP stream. Quire goes back to WebSockets as soon as one gets through.'

export function renderStatus (el: HTMLElement, s: EditorStatus): void {
  el.dataset.status = s.status
  if (s.transport === null) delete el.dataset.transport
  else el.dataset.transport = s.transport
  el.dataset.saved = String(s.saved)
  el.dataset.access = s.access
  el.dataset.editable = String(s.editable)
  const text = label(s)
  const labelEl = el.querySelector('.quire-status-label')
  if (labelEl && labelEl.textContent !== text) labelEl.textContent = text
  const hint = el.querySelector<HTMLElement>('.quire-status-hint')
  const onStream = s.transport === 'stream' && s.status === 'connected'
  if (hint && hint.hidden === onStream) {
    hint.hidden = !onStream
    hint.textContent = onStream ? STREAM_HINT : ''
  }
  el.title = s.problem ?? (onStream ? `${text} · ${STREAM_HINT_TITLE}` : text)
}
