/**
 * What a user installs, tested as a user gets it: `npm pack` a workspace
 * package, copy an app from examples/ to a fresh folder outside the
 * repository, install the tarballs there (everything else from the
 * registry, as for anyone), build it with its own Vite and serve the result
 * on 127.0.0.1 (docs/embedding.md; CONTRIBUTING.md, "Packages").
 */
import { execFile } from 'node:child_process'
import { cpSync, createReadStream, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { extname, isAbsolute, join, normalize, resolve, sep } from 'node:path'
import { promisify } from 'node:util'
import { fromRoot, tempDir } from './paths.js'

const run = promisify(execFile)

/** npm and Vite are slow on a shared two-core machine, but they do finish. */
const COMMAND_TIMEOUT_MS = 240_000

/** Run `command args` in `cwd`; the error names the command and carries its output. */
export async function runIn (cwd: string, command: string, args: string[], env: Record<string, string> = {}, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false', ...env } })
    return stdout
  } catch (err) {
    const e = err as Error & { stdout?: string, stderr?: string }
    throw new Error(`${command} ${args.join(' ')} in ${cwd} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`)
  }
}

/** The workspace packages of the repository (root package.json `workspaces`), in build order. */
export function workspacePackages (): string[] {
  const { workspaces } = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { workspaces: string[] }
  return workspaces.filter((dir) => existsSync(fromRoot(dir, 'package.json')))
}

/** `npm pack` the package in `dir` (absolute, or relative to the repository root) into `dest`; resolves with the tarball's absolute path. */
export async function packPackage (dir: string, dest: string): Promise<string> {
  const cwd = isAbsolute(dir) ? dir : fromRoot(dir)
  const out = await runIn(cwd, 'npm', ['pack', '--json', '--pack-destination', dest])
  const [packed] = JSON.parse(out) as Array<{ filename: string }>
  return resolve(dest, packed.filename)
}

/** The files inside a tarball, as `npm pack` lays them out (`package/…`). */
export async function tarballFiles (tarball: string): Promise<string[]> {
  const out = await runIn(process.cwd(), 'tar', ['-tzf', tarball])
  return out.split('\n').filter(Boolean)
}

/**
 * A fresh copy of examples/<example> under the system's temporary folder
 * (outside the repository, so no workspace link can stand in for a
 * package), without its `@quire/*` dependencies, then
 * `npm install <tarballs…>`: the packages from the tarballs, the rest from
 * the registry. Resolves with the folder.
 */
export async function installExample (example: string, tarballs: string[]): Promise<string> {
  const source = fromRoot('examples', example)
  if (!existsSync(join(source, 'package.json'))) throw new Error(`no example ${example} (examples/${example}/package.json)`)
  const dir = tempDir(`example-${example}`)
  cpSync(source, dir, { recursive: true, filter: (path) => !/[/\\](node_modules|dist)([/\\]|$)/.test(path.slice(source.length)) })
  const manifestPath = join(dir, 'package.json')
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>
  for (const field of ['dependencies', 'devDependencies']) {
    const deps = manifest[field] as Record<string, string> | undefined
    for (const name of Object.keys(deps ?? {})) if (name.startsWith('@quire/')) delete deps![name]
  }
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n')
  await runIn(dir, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs])
  return dir
}

/**
 * `vite build` in an installed example, with the example's own Vite;
 * resolves with the built folder (dist/). `env` reaches Vite, which puts
 * `VITE_*` variables into the app (the examples' VITE_QUIRE_SERVER).
 */
export async function buildExample (dir: string, env: Record<string, string> = {}): Promise<string> {
  await runIn(dir, process.execPath, [join(dir, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], env)
  return join(dir, 'dist')
}

/** Remove an installed example's folder. */
export function removeExample (dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
}

export interface StaticSite {
  /** `http://127.0.0.1:<port>` */
  url: string
  close (): Promise<void>
}

/** Serve a built folder on 127.0.0.1 at a free port: files as they are, index.html for "/" and for paths without a file. */
export async function serveFolder (folder: string): Promise<StaticSite> {
  const root = normalize(folder)
  const server: Server = createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname)
    let file = normalize(join(root, pathname))
    if (!file.startsWith(root + sep) && file !== root) {
      res.writeHead(400).end()
      return
    }
    if (!existsSync(file) || !statSync(file).isFile()) file = join(root, 'index.html')
    if (!existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not built yet')
      return
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' })
    createReadStream(file).pipe(res)
  })
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolveListen())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolveClose) => {
      server.closeAllConnections()
      server.close(() => resolveClose())
    }),
  }
}

/** Build an installed example and serve what it built. */
export async function buildAndServe (dir: string, env: Record<string, string> = {}): Promise<StaticSite> {
  return serveFolder(await buildExample(dir, env))
}
