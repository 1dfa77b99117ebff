import { useEffect, useState } from 'react'
import { QuireEditor, useConnectionStatus, usePresence, useQuireDocument, useSaved } from '@quire/react'
import { currentSession, quireToken, signIn, type Session } from './session'

/** The document this page edits: `?doc=` or a default. */
const doc = new URLSearchParams(location.search).get('doc') ?? 'react/demo'

export function App () {
  const [session, setSession] = useState<Session | null | undefined>(undefined)
  useEffect(() => { currentSession().then(setSession, () => setSession(null)) }, [])
  if (session === undefined) return <p>Loading…</p>
  if (session === null) return <SignIn onSignedIn={setSession} />
  return (
    <main style={{ maxWidth: 860, margin: '0 auto', padding: 16, fontFamily: 'system-ui' }}>
      <Header session={session} />
      {/* styles={false}: the stylesheet comes from the CSS file main.tsx imports (no inline <style>, fine under a strict CSP). */}
      <QuireEditor server={session.server} doc={doc} getToken={quireToken} identity={session.id} styles={false} style={{ height: 480 }} />
    </main>
  )
}

/** Our own status bar, from the hooks: the same document (and socket) as the editor below. */
function Header ({ session }: { session: Session }) {
  const { provider } = useQuireDocument({ server: session.server, doc, getToken: quireToken, identity: session.id })
  const status = useConnectionStatus(provider)
  const saved = useSaved(provider)
  const people = usePresence(provider)
  const others = people.filter((p) => !p.self && p.user?.name).map((p) => p.user?.name)
  return (
    <header data-testid="app-header" data-status={status} data-saved={saved}>
      <strong>{doc}</strong> · signed in as {session.name} · {status}{status === 'connected' ? (saved ? ' · all saved' : ' · saving…') : ''}
      {others.length > 0 && <> · with {others.join(', ')}</>}
    </header>
  )
}

function SignIn ({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [name, setName] = useState('')
  return (
    <form onSubmit={(e) => { e.preventDefault(); signIn(name).then(onSignedIn, (err) => alert(String(err))) }}>
      <label>Your name <input name="name" value={name} onChange={(e) => setName(e.target.value)} required /></label>
      <button type="submit">Sign in</button>
    </form>
  )
}
