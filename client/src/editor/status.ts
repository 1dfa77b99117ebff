/**
 * The connection status and saved indicator (docs/editor.md, "For automated checks"):
 * `data-status` is connecting | connected | offline, `data-saved` is "true"
 * once every local change is stored on the server.
 */
import type { Access, CloseInfo, ConnectionStatus } from '../provider/quire-provider.js'
import { CLOSE } from '../../../common/close-codes.js'

export interface EditorStatus {
  status: ConnectionStatus
  saved: boolean
  synced: boolean
  access: Access
  /** Set when the server refused the connection for good (4400–4499). */
  stoppedBy: CloseInfo | null
  /** What to tell the user about it. */
  problem: string | null
}

const REFUSALS: Record<number, string> = {
  [CLOSE.badRequest]: 'This document name is not valid.',
  [CLOSE.unauthorized]: 'Your sign-in is missing or has expired. Sign in again, then reload.',
  [CLOSE.forbidden]: 'You do not have access to this document.',
  [CLOSE.tooLarge]: 'A change was too large for the server.',
  [CLOSE.rateLimited]: 'Too many changes too quickly. Reload to continue.',
}

export function describeRefusal (info: CloseInfo): string {
  return REFUSALS[info.code] ?? `The server closed the connection (${info.code}${info.reason ? `: ${info.reason}` : ''}).`
}

function label (s: EditorStatus): string {
  if (s.stoppedBy) return 'Disconnected'
  if (s.status === 'connecting') return 'Connecting…'
  if (s.status === 'offline') return s.saved ? 'Offline' : 'Offline · edits kept here'
  if (s.access === 'read') return 'Read only'
  return s.saved ? 'Saved' : 'Saving…'
}

export function renderStatus (el: HTMLElement, s: EditorStatus): void {
  el.dataset.status = s.status
  el.dataset.saved = String(s.saved)
  el.dataset.access = s.access
  const text = label(s)
  const labelEl = el.querySelector('.quire-status-label')
  if (labelEl && labelEl.textContent !== text) labelEl.textContent = text
  el.title = s.problem ?? text
}
