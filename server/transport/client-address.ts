/**
 * The client address that per-address budgets count (MAX_CONNECTIONS_PER_IP):
 * the socket's peer, or, behind proxies trusted with TRUST_PROXY, the address
 * they recorded in X-Forwarded-For (docs/configuration.md, "Behind a proxy").
 *
 * X-Forwarded-For is a list each proxy appends its peer to, so only its
 * right end, written by proxies we trust, can be believed: anything further
 * left is whatever the client chose to send.
 *
 * IPv6 addresses are counted per /64: one subscriber is usually handed a
 * whole /64 and can pick any address in it.
 */
import { BlockList, isIP } from 'node:net'
import type { IncomingMessage } from 'node:http'
import type { TrustProxy } from '../addresses.js'

/** A function giving the counted address of an upgrade request. */
export function clientAddressOf (trust: TrustProxy | undefined): (req: IncomingMessage) => string {
  const peer = (req: IncomingMessage): string => plainAddress(req.socket.remoteAddress ?? '') ?? 'unknown'
  if (trust === undefined || ('hops' in trust && trust.hops === 0)) return (req) => addressKey(peer(req))
  if ('hops' in trust) {
    // The last `hops` entries of the chain (the peer included) are our proxies; the one before them is the client.
    return (req) => {
      const chain = [...forwardedFor(req), peer(req)]
      return addressKey(pick(chain, Math.max(0, chain.length - 1 - trust.hops)))
    }
  }
  const trusted = new BlockList()
  for (const entry of trust.proxies) {
    const [address, prefix] = entry.split('/')
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6'
    if (prefix === undefined) trusted.addAddress(address, type)
    else trusted.addSubnet(address, Number(prefix), type)
  }
  const isTrusted = (address: string | null): boolean =>
    address !== null && trusted.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6')
  // From the peer leftwards, skip our own proxies; the first address that is not one is the client.
  return (req) => {
    const chain = [...forwardedFor(req), peer(req)]
    let i = chain.length - 1
    while (i > 0 && isTrusted(chain[i])) i--
    return addressKey(pick(chain, i))
  }
}

/** The entry at `i`, or when it is not an address, the nearest one to its right (the proxy that passed it on). */
function pick (chain: Array<string | null>, i: number): string {
  for (let j = i; j < chain.length; j++) {
    const address = chain[j]
    if (address !== null) return address
  }
  return 'unknown'
}

/** X-Forwarded-For's entries, left to right; null for one that is not an address. */
function forwardedFor (req: IncomingMessage): Array<string | null> {
  const header = req.headers['x-forwarded-for']
  if (header === undefined) return []
  return (Array.isArray(header) ? header.join(',') : header).split(',').map((e) => plainAddress(e.trim()))
}

/** An address without brackets, port or IPv4-mapped prefix; null when it is not an IP address. */
function plainAddress (entry: string): string | null {
  let address = entry
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address)
  if (bracketed) address = bracketed[1]
  else if (/^[\d.]+:\d+$/.test(address)) address = address.slice(0, address.indexOf(':'))
  if (/^::ffff:[\d.]+$/i.test(address)) address = address.slice(7)
  return isIP(address) === 0 ? null : address
}

/** What is counted: an IPv4 address as it is, an IPv6 address by its /64. */
function addressKey (address: string): string {
  if (isIP(address) !== 6) return address
  const [head, tail] = address.split('%')[0].toLowerCase().split('::')
  const groups = (part: string | undefined): string[] =>
    part === undefined || part === '' ? [] : part.split(':').flatMap((g) => g.includes('.') ? ['0', '0'] : [g])
  const left = groups(head)
  const right = groups(tail)
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`
}
