/**
 * A stand-in identity provider for tests: signing keys made with jose, and a
 * JWKS endpoint on 127.0.0.1 (node:http) whose key set, and health, the test
 * changes while Quire runs: serving, down (nothing listens on its port) or
 * hanging (it accepts requests and never answers).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'

export interface SigningKey {
  alg: string
  kid: string
  privateKey: CryptoKey
  /** The public half as the JWKS lists it. */
  jwk: JWK
}

export async function signingKey (alg: string, kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  return { alg, kid, privateKey, jwk: { ...await exportJWK(publicKey), kid, alg, use: 'sig' } }
}

export interface ProviderClaims {
  [claim: string]: unknown
}

/**
 * A token signed by `key` (its alg and kid in the header). `iat` is now
 * unless given; `exp`, `nbf`, `iss`, `aud` are whatever the claims say.
 */
export function signWith (key: SigningKey, claims: ProviderClaims, header: { kid?: string } = {}): Promise<string> {
  return new SignJWT({ iat: Math.floor(Date.now() / 1000), ...claims })
    .setProtectedHeader({ alg: key.alg, kid: header.kid ?? key.kid, typ: 'JWT' })
    .sign(key.privateKey)
}

/**
 * serving: the key set. down: nothing listens. hanging: never answers.
 * The rest answer at once, wrongly: HTTP 500, a redirect to the key set,
 * a body over 1 MiB, JSON that is not a key set.
 */
export type JwksMode = 'serving' | 'down' | 'hanging' | 'error' | 'redirect' | 'oversized' | 'not-a-key-set'

export interface JwksServer {
  url: string
  /** Requests received so far (answered or not). */
  readonly requests: number
  /** Resolves when the request count reaches `n`. */
  whenRequests (n: number): Promise<void>
  /** The keys served from now on. */
  setKeys (keys: SigningKey[]): void
  setMode (mode: JwksMode): Promise<void>
  stop (): Promise<void>
}

export async function startJwksServer (keys: SigningKey[]): Promise<JwksServer> {
  let served = keys
  let mode: JwksMode = 'serving'
  let requests = 0
  const waiters: Array<{ n: number, resolve: () => void }> = []
  const hanging = new Set<ServerResponse>()
  const handler = (_req: IncomingMessage, res: ServerResponse): void => {
    requests++
    for (const w of [...waiters]) {
      if (requests < w.n) continue
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve()
    }
    if (mode === 'hanging') {
      hanging.add(res)
      return
    }
    const set = JSON.stringify({ keys: served.map((k) => k.jwk) })
    if (mode === 'error') return void res.writeHead(500).end('oops')
    if (mode === 'redirect') return void res.writeHead(302, { location: '/elsewhere.json' }).end()
    if (mode === 'oversized') return void res.writeHead(200, { 'content-type': 'application/json' }).end(set.replace(/}$/, `,"padding":"${'x'.repeat(1024 * 1024)}"}`))
    if (mode === 'not-a-key-set') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[1,2,3]}')
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' })
    res.end(set)
  }
  let server: Server = createServer(handler)
  const listen = (port: number): Promise<number> => new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      const address = server.address()
      resolve(typeof address === 'object' && address ? address.port : port)
    })
  })
  const close = (): Promise<void> => new Promise((resolve) => {
    for (const res of hanging) res.destroy()
    hanging.clear()
    server.close(() => resolve())
    // Quire's fetch keeps its connection alive: cut it, so "down" means refused.
    server.closeAllConnections()
  })
  const port = await listen(0)
  let listening = true
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get requests () { return requests },
    whenRequests: (n) => requests >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
    setKeys: (next) => { served = next },
    async setMode (next) {
      mode = next
      if (next === 'down' && listening) {
        listening = false
        await close()
      } else if (next !== 'down' && !listening) {
        server = createServer(handler)
        await listen(port)
        listening = true
      }
    },
    async stop () {
      if (listening) await close()
      listening = false
    },
  }
}
