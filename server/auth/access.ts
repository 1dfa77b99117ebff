/**
 * Access levels from token claims (docs/auth.md): a name matches a pattern when
 * equal to it, or when the pattern ends in "*" and the name starts with the
 * rest. `allowedDocumentNames` grants writing, `readonlyDocumentNames` reading.
 */
export type Access = 'write' | 'read' | 'none'

export function matchesPattern (name: string, pattern: string): boolean {
  if (pattern.endsWith('*')) return name.startsWith(pattern.slice(0, -1))
  return name === pattern
}

export function accessFor (name: string, allowed: readonly string[] = [], readonly: readonly string[] = []): Access {
  if (allowed.some((p) => matchesPattern(name, p))) return 'write'
  if (readonly.some((p) => matchesPattern(name, p))) return 'read'
  return 'none'
}
