/**
 * Document names (contract §3): the percent-decoded request path without its
 * leading "/", 1–255 bytes of UTF-8, "/"-separated segments none of which is
 * empty, "." or "..", and no control characters.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

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
  const bytes = Buffer.byteLength(name, 'utf8')
  if (bytes < 1 || bytes > 255) return false
  if (CONTROL.test(name)) return false
  // A lone surrogate would not round-trip through UTF-8.
  if (LONE_SURROGATE.test(name)) return false
  return name.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
}
