/**
 * Locating the real programs tests and the bench drive: an override variable
 * (REDIS_SERVER_BIN, REDIS_CLI_BIN, CHROMIUM_PATH) if set, else PATH. A
 * missing program is reported with the Debian package that provides it.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export interface Program {
  name: string
  /** Variable that names the program's path instead of PATH. */
  envVar: string
  debianPackage: string
}

export const REDIS_SERVER: Program = { name: 'redis-server', envVar: 'REDIS_SERVER_BIN', debianPackage: 'redis-server' }
export const REDIS_CLI: Program = { name: 'redis-cli', envVar: 'REDIS_CLI_BIN', debianPackage: 'redis-tools' }
export const CHROMIUM: Program = { name: 'chromium', envVar: 'CHROMIUM_PATH', debianPackage: 'chromium' }
export const HAPROXY: Program = { name: 'haproxy', envVar: 'HAPROXY_BIN', debianPackage: 'haproxy' }

/** The program's path, or null when it is not on PATH. An override that names no file is an error. */
export function locateBinary (name: string, envVar: string): string | null {
  const fromEnv = process.env[envVar]
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${envVar}=${fromEnv} does not exist`)
    return fromEnv
  }
  try {
    return execFileSync('which', [name], { encoding: 'utf8' }).trim() || null
  } catch {
    return null
  }
}

/** The program's path; throws, naming the package to install, when it is absent. */
export function findBinary (name: string, envVar: string, debianPackage: string): string {
  const found = locateBinary(name, envVar)
  if (found === null) throw new Error(`${name} not found on PATH: install it with \`apt-get install ${debianPackage}\` (or set ${envVar})`)
  return found
}

export const findProgram = (p: Program): string => findBinary(p.name, p.envVar, p.debianPackage)
