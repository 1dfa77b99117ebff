/**
 * The served modules at a pinned version (docs/embedding.md, "Without a
 * build step"): /v/<version>/embed.js and /v/<version>/lib/quire-editor.js
 * are the same bytes as the "latest" URLs, cached for good, and so is every
 * chunk they import; another version is a 404 that says which one this
 * server has; the latest URLs are revalidated on every load.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { fleet } from './helpers/fleet.js'

const { start, stopAll } = fleet()
afterAll(stopAll)

const { version } = JSON.parse(readFileSync(new URL('../client/editor/package.json', import.meta.url), 'utf8')) as { version: string }
const IMMUTABLE = 'public, max-age=31536000, immutable'

describe('versioned embed URLs', () => {
  it('/v/<version>/ serves the latest modules, immutable, with their chunks under the same prefix', async () => {
    const q = await start()
    expect(await (await fetch(`${q.url}/version.json`)).json()).toEqual({ version })
    for (const path of ['/embed.js', '/lib/quire-editor.js']) {
      const [latest, pinned] = await Promise.all([fetch(`${q.url}${path}`), fetch(`${q.url}/v/${version}${path}`)])
      expect([latest.status, pinned.status], path).toEqual([200, 200])
      expect(latest.headers.get('cache-control'), path).toBe('no-cache')
      expect(pinned.headers.get('cache-control'), path).toBe(IMMUTABLE)
      expect(pinned.headers.get('access-control-allow-origin'), path).toBe('*')
      expect(pinned.headers.get('content-type'), path).toMatch(/^text\/javascript/)
      const code = await pinned.text()
      expect(code, path).toBe(await latest.text())
      // Its chunks are imported relatively, so they load from under /v/<version>/ as well.
      const chunks = [...code.matchAll(/from\s*"(\.{1,2}\/assets\/[^"]+\.js)"/g)].map((m) => m[1])
      expect(chunks.length, path).toBeGreaterThan(0)
      for (const chunk of chunks) {
        const res = await fetch(new URL(chunk, `${q.url}/v/${version}${path}`))
        expect(res.status, chunk).toBe(200)
        expect(res.headers.get('cache-control'), chunk).toBe(IMMUTABLE)
      }
    }
  })

  it('another version is a 404 naming the one served; pages are not served under /v/', async () => {
    const q = await start()
    const other = await fetch(`${q.url}/v/0.0.1-nope/embed.js`)
    expect(other.status).toBe(404)
    expect(other.headers.get('cache-control')).toBe('no-cache')
    expect(await other.text()).toContain(`/v/${version}/embed.js`)
    for (const path of ['index.html', 'embed.html', 'version.json', '../embed.js']) {
      expect((await fetch(`${q.url}/v/${version}/${path}`)).status, path).toBe(404)
    }
  })
})
