/**
 * `npx quire` (package.json `bin`, server/cli.ts): the server as `npm start`
 * runs it, configured by the same environment variables
 * (docs/server-library.md, "CLI").
 */
import { afterEach, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { fromRoot, tempDir } from '../harness/paths.js'
import { freePort } from '../harness/ports.js'
import { spawnChild, stopChild, type Child } from '../harness/processes.js'

const children: Child[] = []
afterEach(async () => {
  for (const c of children.splice(0)) await stopChild(c)
})

const pkg = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { bin: Record<string, string> }

describe('the quire bin', () => {
  it('starts with PORT, DATA_DIR and the rest from the environment, and answers /healthz', async () => {
    expect(readFileSync(fromRoot(pkg.bin.quire), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/)
    const port = await freePort()
    const child = spawnChild('quire bin', process.execPath, [fromRoot(pkg.bin.quire)], {
      env: { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: tempDir('cli'), AUTH_SECRET: 'a secret of sixteen or more', DRAIN_GRACE_MS: '0', DRAIN_SPREAD_MS: '0' },
    })
    children.push(child)
    await child.waitForLine('"quire listening"')
    const res = await fetch(`http://127.0.0.1:${port}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('ok\n')
    // AUTH_SECRET from the environment is in force: no token, no document.
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200)
    expect(child.output.join('\n')).not.toContain('open mode')
  })

  it('stops with exit code 2 and one line naming a bad variable', async () => {
    const child = spawnChild('quire bin', process.execPath, [fromRoot(pkg.bin.quire)], { env: { PORT: 'eighty' } })
    children.push(child)
    expect(await child.exited).toBe(2)
    expect(child.output.join('\n')).toMatch(/invalid PORT/)
  })
})
