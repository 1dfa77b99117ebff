/** Locate the real programs tests need; fail naming the Debian package when absent. */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export function findBinary (name: string, envVar: string, debianPackage: string): string {
  const fromEnv = process.env[envVar]
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${envVar}=${fromEnv} does not exist`)
    return fromEnv
  }
  try {
    return execFileSync('which', [name], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error(`${name} not found on PATH: install it with \`apt-get install ${debianPackage}\` (or set ${envVar})`)
  }
}
