/**
 * The budgets a document keeps for each connection (docs/security.md,
 * "Limits"), with their defaults; server/config.ts fills them from the
 * environment.
 */
import { DEFAULT_PRESENCE_LIMITS, type PresenceLimits } from './presence-relay.js'

export interface DocumentLimits extends PresenceLimits {
  /** Sync replies one peer may have waiting for durability. */
  maxGatedPerPeer: number
  /** Deletions of existing content one update may make (each may split an item: heap and time beyond its size). */
  maxUpdateDeleteRanges: number
}

export const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = {
  ...DEFAULT_PRESENCE_LIMITS,
  maxGatedPerPeer: 64,
  maxUpdateDeleteRanges: 50_000,
}
