/**
 * Document names (docs/protocol.md, "Document names"): the percent-decoded
 * request path without its leading "/", 1–255 bytes of UTF-8, "/"-separated
 * segments none of which is empty, "." or "..", and no control characters.
 */
/** Unicode category Cc: U+0000–U+001F and U+007F–U+009F. */
const CONTROL = /\p{Cc}/u
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
export const MAX_DOC_NAME_BYTES = 255
const utf8 = new TextEncoder()

/** Returns the doc name or null when it is not acceptable. */
export function docNameFromPath (rawPath: string): string | null {
  const pathOnly = rawPath.split('?', 1)[0]
  if (!pathOnly.startsWith('/')) return null
  let name: string
  try {
    name = decodeURIComponent(pathOnly.slice(1))
  } catch {
    return null
  }
  return isValidDocName(name) ? name : null
}

export function isValidDocName (name: string): boolean {
  // A lone surrogate would not round-trip through UTF-8 (and would be counted as 3 replacement bytes).
  if (LONE_SURROGATE.test(name)) return false
  const bytes = utf8.encode(name).length
  if (bytes < 1 || bytes > MAX_DOC_NAME_BYTES) return false
  if (CONTROL.test(name)) return false
  return name.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
}
