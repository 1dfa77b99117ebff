/**
 * Who may read /metrics (docs/configuration.md, "Metrics"): by default only
 * this machine, not through a proxy; METRICS_TOKEN asks for a bearer token;
 * METRICS_PORT moves them to a listener of their own (and off the main port).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { fleet } from './helpers/fleet.js'
import { freePort } from '../harness/ports.js'

const { start, stopAll } = fleet()
afterAll(stopAll)

const TOKEN = 'metrics-token-0123456789'
const scrape = (url: string, headers: Record<string, string> = {}): Promise<Response> => fetch(`${url}/metrics`, { headers })

describe('/metrics', () => {
  it('by default answers this machine, and not what a proxy relays', async () => {
    const q = await start()
    const local = await scrape(q.url)
    expect(local.status).toBe(200)
    expect(await local.text()).toMatch(/^quire_connections 0$/m)
    for (const header of [{ 'x-forwarded-for': '203.0.113.7' }, { forwarded: 'for=203.0.113.7' }, { 'x-real-ip': '203.0.113.7' }] as Array<Record<string, string>>) {
      const relayed = await scrape(q.url, header)
      expect(relayed.status, JSON.stringify(header)).toBe(403)
      expect(await relayed.text()).toMatch(/METRICS_TOKEN or METRICS_PORT/)
    }
  })

  it('with METRICS_TOKEN, needs Authorization: Bearer <token> from anyone (401 without)', async () => {
    const q = await start({ METRICS_TOKEN: TOKEN })
    const without = await scrape(q.url)
    expect(without.status).toBe(401)
    expect(without.headers.get('www-authenticate')).toBe('Bearer')
    expect((await scrape(q.url, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401)
    const withToken = await scrape(q.url, { authorization: `Bearer ${TOKEN}`, 'x-forwarded-for': '203.0.113.7' })
    expect(withToken.status).toBe(200)
    expect(await withToken.text()).toMatch(/^quire_connections 0$/m)
  })

  it('with METRICS_PORT, on that port only (and its token, when set, there too)', async () => {
    const metricsPort = await freePort()
    const q = await start({ METRICS_PORT: String(metricsPort), METRICS_TOKEN: TOKEN })
    expect(JSON.parse(await q.waitForLog('"metrics listening"'))).toMatchObject({ port: metricsPort, host: '127.0.0.1' })
    const metricsUrl = `http://127.0.0.1:${metricsPort}`
    expect((await scrape(q.url, { authorization: `Bearer ${TOKEN}` })).status).toBe(404)
    expect((await scrape(metricsUrl)).status).toBe(401)
    const scraped = await scrape(metricsUrl, { authorization: `Bearer ${TOKEN}` })
    expect(scraped.status).toBe(200)
    expect(await scraped.text()).toMatch(/^quire_connections 0$/m)
    // The metrics listener serves nothing else.
    expect((await fetch(`${metricsUrl}/healthz`)).status).toBe(404)
    expect((await fetch(`${metricsUrl}/api/documents/x/state`)).status).toBe(404)
  })
})
