/**
 * The raw relay (bench/servers/raw-relay.ts) is the floor every bench
 * figure is compared with, so it must really serve y-websocket clients:
 * its framing on single frames, its file format, and stock providers
 * syncing through it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { AddressInfo } from 'node:net'
import { relayFrame, serveRawRelay, packUpdates, unpackUpdates } from '../servers/raw-relay.js'
import { connectClient, whenEvent, type StockClient } from '../../harness/clients.js'
import { tempDir } from '../../harness/paths.js'
import { EMPTY_UPDATE, encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate, MESSAGE_AUTH } from '../../common/messages.js'

const update = (text: string): Uint8Array => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

describe('raw relay framing', () => {
  it('answers a sync step 1 with every kept update message, then an empty step 2', () => {
    const kept = [encodeUpdate(update('a')), encodeUpdate(update('b'))]
    const action = relayFrame(encodeSyncStep1(new Uint8Array([0])), kept)
    expect(action.reply).toEqual([...kept, encodeSyncStep2(EMPTY_UPDATE)])
    expect(action.relay).toBeNull()
    expect(action.keep).toBeNull()
  })

  it('keeps and relays an update as it came, and a step 2 as an update message', () => {
    const u = update('hello')
    const fromUpdate = relayFrame(encodeUpdate(u), [])
    expect(fromUpdate.relay).toEqual(encodeUpdate(u))
    expect(fromUpdate.keep).toEqual(encodeUpdate(u))
    const fromStep2 = relayFrame(encodeSyncStep2(u), [])
    expect(fromStep2.relay).toEqual(encodeUpdate(u))
    expect(fromStep2.keep).toEqual(encodeUpdate(u))
  })

  it('relays awareness untouched, drops empty updates and ignores other messages', () => {
    const aw = encodeAwareness(new Uint8Array([1, 7, 1, 2, 0x7b, 0x7d]))
    expect(relayFrame(aw, [])).toEqual({ reply: [], relay: aw, keep: null })
    expect(relayFrame(encodeSyncStep2(EMPTY_UPDATE), [])).toEqual({ reply: [], relay: null, keep: null })
    expect(relayFrame(new Uint8Array([MESSAGE_AUTH, 0]), [])).toEqual({ reply: [], relay: null, keep: null })
  })

  it('writes and reads back its update messages', () => {
    const kept = [encodeUpdate(update('x')), encodeUpdate(update('yz'))]
    expect(unpackUpdates(packUpdates(kept))).toEqual(kept)
    expect(unpackUpdates(packUpdates([]))).toEqual([])
  })
})

describe('raw relay with stock y-websocket clients', () => {
  let relay: ReturnType<typeof serveRawRelay> | null = null
  const clients: StockClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy()
    await new Promise<void>((resolve) => relay ? relay.wss.close(() => resolve()) : resolve())
    relay = null
  })

  const start = async (dataDir?: string): Promise<string> => {
    relay = serveRawRelay({ host: '127.0.0.1', port: 0, dataDir })
    const wss = relay.wss
    await new Promise<void>((resolve) => wss.address() ? resolve() : wss.once('listening', () => resolve()))
    return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
  }
  const client = (url: string): StockClient => {
    const c = connectClient(url, 'doc')
    clients.push(c)
    return c
  }

  it('relays edits, hands a late joiner the whole document, and keeps it across a restart', async () => {
    const dataDir = tempDir('raw-relay-test')
    let url = await start(dataDir)
    const a = client(url)
    const b = client(url)
    a.text.insert(0, 'hello')
    await whenEvent(b.doc, 'update', () => b.text.toString() === 'hello', 'b to see the edit of a')
    b.text.insert(5, ' world')
    const late = client(url)
    await whenEvent(late.doc, 'update', () => late.text.toString() === 'hello world', 'a late joiner to get both edits')
    await whenEvent(late.provider, 'sync', () => late.provider.synced, 'the late joiner to be synced')

    relay!.persist()
    for (const c of clients.splice(0)) c.destroy()
    await new Promise<void>((resolve) => relay!.wss.close(() => resolve()))
    url = await start(dataDir)
    const after = client(url)
    await whenEvent(after.doc, 'update', () => after.text.toString() === 'hello world', 'the document after a restart')
  })
})
