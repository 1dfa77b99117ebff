/** Where things are, from the compiled file's location (dist/bench/…). */
import { fileURLToPath } from 'node:url'
import { dirname, join, resolve } from 'node:path'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'

const here = dirname(fileURLToPath(import.meta.url))
/** The repository root: dist/bench/paths.js → ../.. */
export const repoRoot = resolve(here, '..', '..')
export const distBench = here
export const fromRoot = (...parts: string[]): string => join(repoRoot, ...parts)

/** A fresh temporary directory for one server's data. */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `quire-bench-${prefix}-`))
