/**
 * Webhook parts that need no Quire process: which addresses an admin-added
 * endpoint may reach, the signature, the local queue's budget and order,
 * and the debounce with its maximum wait (on real timers, measured).
 */
import { describe, expect, it } from 'vitest'
import { Gauge } from 'prom-client'
import { isPrivateAddress, refusalOfHost } from '../server/webhooks/address-policy.js'
import { signatureHeader, verifySignature } from '../server/webhooks/signature.js'
import { send } from '../server/webhooks/send.js'
import { LocalQueue } from '../server/webhooks/queue.js'
import { ChangeReporter } from '../server/webhooks/changes.js'
import { userOfState, type Delivery, type WebhookUser } from '../server/webhooks/events.js'
import { createLogger } from '../server/ops/log.js'
import { WEBHOOK_RESULT } from '../server/ops/metrics.js'
import { startReceiver } from './helpers/webhook-receiver.js'
import { within } from './helpers/wait.js'

const log = createLogger('silent')
const delivery = (n: number): Delivery => ({ eventId: `e${n}`, endpointId: 'x', type: 'user.joined', body: `{"n":${n}}`, at: Date.now() })

describe('private addresses', () => {
  it('loopback, link-local, private, shared and reserved ranges are private; the internet is not', () => {
    for (const ip of ['127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', 'not an address']) {
      expect(isPrivateAddress(ip), ip).toBe(true)
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
      expect(isPrivateAddress(ip), ip).toBe(false)
    }
  })

  it('a URL is judged by what its host resolves to', async () => {
    expect(await refusalOfHost('http://localhost:8080/x')).toMatch(/^localhost resolves to the private address (127\.0\.0\.1|::1) \(set WEBHOOKS_ALLOW_PRIVATE=1/)
    expect(await refusalOfHost('http://[::1]:8080/x')).toMatch(/^::1 is a private address/)
    expect(await refusalOfHost('http://169.254.169.254/latest/meta-data')).toMatch(/^169\.254\.169\.254 is a private address/)
    expect(await refusalOfHost('http://8.8.8.8/x')).toBeNull()
  })

  it('an admin-added endpoint whose name resolves inside is not sent to (the check is made at connection time too)', async () => {
    const hook = await startReceiver('a-secret-of-sixteen-chars')
    try {
      const port = new URL(hook.url).port
      const endpoint = { id: 'wh_1', url: `http://localhost:${port}/hook`, events: ['*' as const], secret: 'a-secret-of-sixteen-chars', source: 'api' as const }
      const blocked = await send(endpoint, delivery(1), 1, { timeoutMs: 2_000, allowPrivate: false })
      expect(blocked.result).toBe(WEBHOOK_RESULT.blocked)
      expect(hook.received).toHaveLength(0)
      const allowed = await send(endpoint, delivery(2), 1, { timeoutMs: 2_000, allowPrivate: true })
      expect(allowed).toEqual({ result: WEBHOOK_RESULT.delivered, status: 200 })
      const configured = await send({ ...endpoint, source: 'env' }, delivery(3), 1, { timeoutMs: 2_000, allowPrivate: false })
      expect(configured.result).toBe(WEBHOOK_RESULT.delivered)
      expect(hook.received.map((r) => r.body)).toEqual(['{"n":2}', '{"n":3}'])
      expect(hook.received.every((r) => r.verified)).toBe(true)
    } finally {
      await hook.close()
    }
  })
})

describe('the signature', () => {
  it('signs the timestamp with the body; any change, another secret or an old timestamp fails', () => {
    const header = signatureHeader('s3cret-s3cret-s3cret', '{"a":1}', 1_700_000_000)
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/)
    const now = 1_700_000_000 + 10
    expect(verifySignature('s3cret-s3cret-s3cret', header, '{"a":1}', 300, now)).toBe(true)
    expect(verifySignature('s3cret-s3cret-s3cret', header, '{"a":2}', 300, now)).toBe(false)
    expect(verifySignature('another-secret-0000', header, '{"a":1}', 300, now)).toBe(false)
    expect(verifySignature('s3cret-s3cret-s3cret', header, '{"a":1}', 300, now + 600)).toBe(false)
    expect(verifySignature('s3cret-s3cret-s3cret', header.replace('t=1700000000', 't=1700000001'), '{"a":1}', 300, now)).toBe(false)
    expect(verifySignature('s3cret-s3cret-s3cret', undefined, '{"a":1}', 300, now)).toBe(false)
    expect(verifySignature('s3cret-s3cret-s3cret', 'garbage', '{"a":1}', 300, now)).toBe(false)
  })
})

describe('who an awareness state names', () => {
  it('user.id, else user.name; nobody without either', () => {
    expect(userOfState('{"user":{"id":"u1","name":"Ann","color":"#123456"}}')).toEqual({ id: 'u1', name: 'Ann' })
    expect(userOfState('{"user":{"name":"Ann"}}')).toEqual({ id: 'Ann', name: 'Ann' })
    expect(userOfState('{"user":{"id":"u1"}}')).toEqual({ id: 'u1' })
    for (const json of ['{}', '{"user":null}', '{"user":"Ann"}', '{"user":{"id":" "}}', '{"user":{"id":7}}', 'null', 'not json']) expect(userOfState(json), json).toBeNull()
  })
})

describe('the local queue', () => {
  it('takes at most its budget, and hands deliveries out in order as the sink has room', async () => {
    const queue = new LocalQueue(null, 3, log)
    const taken: string[] = []
    let room = 1
    let wake = (): void => {}
    await queue.start({
      room: () => room,
      whenRoom: () => new Promise((resolve) => { wake = resolve }),
      take: (item) => {
        taken.push(item.delivery.eventId)
        room--
      },
    })
    expect(await queue.add([delivery(1), delivery(2), delivery(3), delivery(4)])).toBe(3)
    expect(taken).toEqual(['e1'])
    expect(await queue.size()).toBe(3)
    room = 2
    wake()
    await within(new Promise<void>((resolve) => setImmediate(resolve)), 1_000, 'the queue to hand out more')
    expect(taken).toEqual(['e1', 'e2', 'e3'])
  })
})

describe('document.changed debounce', () => {
  it('quiet for the debounce reports; continuous changes report by the maximum wait', async () => {
    const timers = new Gauge({ name: 'test_timers', help: 'x', registers: [] })
    const reports: Array<{ doc: string, users: WebhookUser[], when: number }> = []
    const reporter = new ChangeReporter({ debounceMs: 100, maxWaitMs: 400, timers, report: (doc, users) => reports.push({ doc, users, when: Date.now() }) })
    const started = Date.now()
    reporter.changed('d', [{ id: 'a' }])
    reporter.changed('d', [{ id: 'b' }])
    await within(new Promise<void>((resolve) => { const t = setInterval(() => { if (reports.length > 0) { clearInterval(t); resolve() } }, 5) }), 2_000, 'the first report')
    expect(reports[0].users.map((u) => u.id)).toEqual(['a', 'b'])
    expect(reports[0].when - started).toBeGreaterThanOrEqual(95)

    // A change every 50 ms for 1 s: never quiet for 100 ms, reported every 400 ms.
    const typingStarted = Date.now()
    while (Date.now() - typingStarted < 1_000) {
      reporter.changed('d', [{ id: 'a' }])
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    // (A loaded machine may pause the loop past the debounce, which reports more often: only the lower bound is firm.)
    expect(reports.slice(1).filter((r) => r.when <= typingStarted + 1_000).length).toBeGreaterThanOrEqual(1)
    reporter.flush()
    expect(reports.at(-1)!.when - Date.now()).toBeLessThanOrEqual(0)
    expect(await timers.get()).toMatchObject({ values: [{ value: 0 }] })
  })
})
