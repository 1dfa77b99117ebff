/** The app's own sign-in (server.mjs): who is signed in, and Quire tokens for them. */
export interface Session {
  /** The id Quire tokens carry as `sub`. */
  id: string
  name: string
  /** The Quire server to connect to (`ws://…`), as the backend is configured. */
  server: string
}

export async function currentSession (): Promise<Session | null> {
  const res = await fetch('/api/session')
  return res.status === 200 ? await res.json() as Session : null
}

export async function signIn (name: string): Promise<Session> {
  const res = await fetch('/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) })
  if (!res.ok) throw new Error(`sign-in failed: ${res.status}`)
  return await res.json() as Session
}

/** A fresh Quire token from our backend: Quire asks for one on every (re)connect and before the last expires. */
export async function quireToken (): Promise<string> {
  const res = await fetch('/api/quire-token')
  if (!res.ok) throw new Error(`no Quire token: ${res.status}`)
  return (await res.json() as { token: string }).token
}
