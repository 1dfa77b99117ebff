/**
 * Where an endpoint added through the admin API may point (docs/webhooks.md,
 * "Private addresses"): not at this machine, the local network or a cloud
 * metadata service, unless WEBHOOKS_ALLOW_PRIVATE=1. Endpoints in WEBHOOKS
 * are the operator's own and may point anywhere. Checked when the endpoint
 * is added and again at every connection (a DNS name can change what it
 * points at).
 */
import { BlockList, isIP } from 'node:net'
import { lookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns'

const PRIVATE = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3],
] as const) PRIVATE.addSubnet(net, prefix, 'ipv4')
// (IPv4-mapped addresses, ::ffff:a.b.c.d, are judged by the IPv4 ranges: BlockList maps them.)
for (const [net, prefix] of [
  ['::', 127], ['64:ff9b::', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) PRIVATE.addSubnet(net, prefix, 'ipv6')

/** Loopback, link-local, private, shared, multicast or reserved: not somewhere on the internet. */
export function isPrivateAddress (address: string): boolean {
  const family = isIP(address)
  if (family === 0) return true
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

export class BlockedAddress extends Error {
  readonly code = 'EBLOCKED'
}

const BLOCKED_HINT = 'set WEBHOOKS_ALLOW_PRIVATE=1 to allow it'

/** Null when `url`'s host is allowed; otherwise why not (it resolves, wholly or partly, to a private address, or not at all). */
export async function refusalOfHost (url: string): Promise<string | null> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) !== 0) return isPrivateAddress(host) ? `${host} is a private address (${BLOCKED_HINT})` : null
  let addresses: LookupAddress[]
  try {
    addresses = await new Promise((resolve, reject) => lookup(host, { all: true }, (err, list) => err ? reject(err) : resolve(list)))
  } catch {
    return `${host} does not resolve`
  }
  const bad = addresses.find((a) => isPrivateAddress(a.address))
  return bad === undefined ? null : `${host} resolves to the private address ${bad.address} (${BLOCKED_HINT})`
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

/**
 * A `lookup` for http.request that refuses private addresses, so what the
 * name resolves to at connection time is what gets checked. (A literal IP
 * in the URL is not looked up: check it with `refusalOfHost` first.)
 */
export function guardedLookup (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '')
    const bad = addresses.find((a) => isPrivateAddress(a.address))
    if (bad !== undefined) return callback(new BlockedAddress(`${hostname} resolves to the private address ${bad.address}`), '')
    if (options.all === true) return callback(null, addresses)
    callback(null, addresses[0].address, addresses[0].family)
  })
}
