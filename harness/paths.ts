/**
 * Where things are: the repository root, found from this file whether it
 * runs from source (vitest: harness/) or compiled (the bench: dist/harness/),
 * and fresh temporary directories for servers' data.
 */
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The nearest folder above this file that holds package.json (dist/ holds none). */
function findRoot (start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`)
  }
}

export const repoRoot = findRoot(dirname(fileURLToPath(import.meta.url)))
export const fromRoot = (...parts: string[]): string => join(repoRoot, ...parts)

/** A fresh temporary directory, named quire-<prefix>-XXXXXX. */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `quire-${prefix}-`))
