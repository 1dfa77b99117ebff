/**
 * The import rule of docs/architecture.md ("Layout"), checked rather than
 * claimed: every relative import in the repository is read, and one that
 * crosses a boundary the architecture forbids fails here, naming the file
 * and the import. Also: the wire vocabulary (common/) imports nothing of
 * Node's, and every file the architecture page names exists.
 */
import { describe, expect, it } from 'vitest'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const SKIP = new Set(['node_modules', 'dist', '.git', 'data', 'examples'])

function sources (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(ROOT, dir))) {
    if (SKIP.has(name)) continue
    const path = join(dir, name)
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sources(path))
    else if (/\.(ts|tsx|mts|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** Import specifiers of a file: static imports and exports, dynamic import(). */
function importsOf (file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const found: string[] = []
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    found.push(m[1] ?? m[2] ?? m[3])
  }
  return found
}

/** Where a relative import lands, as a repository path ("server/document/peer.ts"). */
function target (file: string, spec: string): string {
  return relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts')
}

/**
 * What each part may import (repository path prefixes). Read top to bottom
 * as the path of one update: transport -> document -> backend; nothing
 * imports back up. `common/` is beneath everything.
 */
const RULES: Array<{ from: string, may: string[] }> = [
  { from: 'common/', may: ['common/'] },
  { from: 'server/ops/', may: ['common/', 'server/ops/'] },
  { from: 'server/addresses.ts', may: [] },
  { from: 'server/config.ts', may: ['common/', 'server/addresses.ts'] },
  { from: 'server/auth/', may: ['common/', 'server/ops/', 'server/auth/', 'server/config.ts'] },
  { from: 'server/backend/', may: ['common/', 'server/ops/', 'server/backend/', 'server/config.ts'] },
  { from: 'server/document/', may: ['common/', 'server/ops/', 'server/document/', 'server/backend/store.ts', 'server/backend/bus.ts'] },
  { from: 'server/transport/', may: ['common/', 'server/ops/', 'server/transport/', 'server/auth/', 'server/document/', 'server/config.ts', 'server/addresses.ts'] },
  { from: 'server/content/', may: ['common/', 'server/content/'] },
  { from: 'server/http/', may: ['common/', 'server/ops/', 'server/http/', 'server/auth/', 'server/document/', 'server/content/', 'server/backend/store.ts', 'server/config.ts', 'server/addresses.ts'] },
  // The library puts an instance together (as app.ts does) for a host app; nothing in server/ but main.ts uses it.
  { from: 'server/library/', may: ['common/', 'server/'] },
  { from: 'server/', may: ['common/', 'server/'] },
  // The packages and the web app reach each other by package name only (bare imports, checked below).
  { from: 'client/provider/', may: ['client/provider/'] },
  { from: 'client/editor/', may: ['client/editor/'] },
  { from: 'client/react/', may: ['client/react/'] },
  { from: 'client/', may: ['client/'] },
  { from: 'harness/', may: ['common/', 'harness/'] },
  { from: 'bench/', may: ['common/', 'harness/', 'bench/', 'server/'] },
  { from: 'test/', may: ['common/', 'harness/', 'server/', 'client/', 'test/'] },
  { from: 'scripts/', may: ['scripts/', 'client/'] },
]

function ruleFor (file: string): { from: string, may: string[] } | undefined {
  return RULES.find((r) => file.startsWith(r.from))
}

describe('the import rule (docs/architecture.md)', () => {
  const files = ['common', 'server', 'client', 'bench', 'test', 'harness', 'scripts'].filter((d) => existsSync(join(ROOT, d))).flatMap(sources)

  it('reads a reasonable number of files (the checker itself works)', () => {
    expect(files.length).toBeGreaterThan(100)
    expect(importsOf('server/document/document.ts')).toContain('./write-pipeline.js')
  })

  it('no module imports across a forbidden boundary', () => {
    const broken: string[] = []
    for (const file of files) {
      const rule = ruleFor(file)
      if (rule === undefined) continue
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) continue
        const to = target(file, spec)
        if (!rule.may.some((p) => to.startsWith(p))) broken.push(`${file} imports ${to}`)
      }
    }
    expect(broken).toEqual([])
  })

  it('no import cycle between server folders', () => {
    const folder = (path: string): string => path.split('/').slice(0, 2).join('/')
    const edges = new Map<string, Set<string>>()
    for (const file of files.filter((f) => f.startsWith('server/'))) {
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) continue
        const to = target(file, spec)
        if (!to.startsWith('server/') || folder(to) === folder(file) || !to.includes('/', 'server/'.length)) continue
        if (!edges.has(folder(file))) edges.set(folder(file), new Set())
        edges.get(folder(file))!.add(folder(to))
      }
    }
    const cycles: string[] = []
    for (const [a, tos] of edges) for (const b of tos) if (edges.get(b)?.has(a)) cycles.push(`${a} <-> ${b}`)
    expect(cycles).toEqual([])
  })

  it('a package imports only what its package.json lists (what npm installs for a user)', () => {
    const packages = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces
    expect(packages).toEqual(expect.arrayContaining(['common', 'client/provider', 'client/editor']))
    const unlisted: string[] = []
    for (const dir of packages) {
      const manifest = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>
      const listed = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})])
      for (const file of files.filter((f) => f.startsWith(`${dir}/`) && !f.endsWith('.mjs'))) {
        for (const spec of importsOf(file)) {
          if (spec.startsWith('.')) continue
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]
          if (!listed.has(name)) unlisted.push(`${file} imports ${spec}, not in ${dir}/package.json`)
        }
      }
    }
    expect(unlisted).toEqual([])
  })

  it('common/ runs anywhere: no Node built-ins, no Buffer, no process', () => {
    const nodeish: string[] = []
    const builtins = new Set(builtinModules)
    for (const file of files.filter((f) => f.startsWith('common/'))) {
      for (const spec of importsOf(file)) {
        if (spec.startsWith('node:') || builtins.has(spec)) nodeish.push(`${file} imports ${spec}`)
      }
      const text = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
      if (/\bBuffer\b|\bprocess\./.test(text)) nodeish.push(`${file} uses Buffer or process`)
    }
    expect(nodeish).toEqual([])
  })

  it('no literal close code outside common/', () => {
    const literal: string[] = []
    for (const file of files.filter((f) => !f.startsWith('common/') && !f.startsWith('test/') && !f.startsWith('bench/'))) {
      const code = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
      for (const m of code.matchAll(/\b(4400|4401|4403|4413|4429|4503|1011|1012)\b/g)) literal.push(`${file}: ${m[0]}`)
    }
    expect(literal).toEqual([])
  })

  it('every file docs/architecture.md names exists', () => {
    const page = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8')
    const named = [...page.matchAll(/`((?:common|server|client|harness|bench|test|docs|deploy|scripts)\/[\w./-]+)`/g)].map((m) => m[1])
    expect(named.length).toBeGreaterThan(20)
    expect(named.filter((path) => !existsSync(join(ROOT, path)))).toEqual([])
  })
})
