/** `/d/<name>`: the editor for one document, full window. */
import { mountEditor } from '@quire/editor'
import { currentUser, saveUser } from './identity.js'
import { rememberDoc } from './recent.js'
import { apiUrl, docPath, serverUrl } from './routes.js'
import { createHistoryPanel } from './history-panel.js'

export function renderDocument (root: HTMLElement, name: string): void {
  const params = new URLSearchParams(location.search)
  const token = params.get('token')
  const user = currentUser(params, token)
  // The home page opens documents without a token: only open-mode ones are worth listing (and a signed-in person's stay theirs).
  if (!token) rememberDoc(name)
  document.title = `${name} · Quire`
  root.innerHTML = `
    <div class="app">
      <header class="app-header">
        <a class="brand" href="/" title="All documents"><span class="brand-mark" aria-hidden="true">Q</span><span class="brand-name">Quire</span></a>
        <h1 class="doc-title"></h1>
        <button type="button" class="button sign-out" data-testid="sign-out" hidden>Sign out</button>
        <button type="button" class="button history-toggle" data-testid="history-button" aria-pressed="false">History</button>
        <button type="button" class="button share">Share</button>
      </header>
      <div class="app-body"><div class="app-editor"></div></div>
    </div>`
  root.querySelector('.doc-title')!.textContent = name

  const mounted = mountEditor(root.querySelector<HTMLElement>('.app-editor')!, {
    server: serverUrl(),
    doc: name,
    token: token ?? undefined,
    user,
    autofocus: !matchMedia('(pointer: coarse)').matches,
  })

  // Versions of this document: a side panel (docs/history.md).
  const history = createHistoryPanel({ api: apiUrl(), doc: name, token: token ?? undefined, canWrite: () => mounted.status.access === 'write' })
  root.querySelector('.app-body')!.append(history.element)
  const historyButton = root.querySelector<HTMLButtonElement>('.history-toggle')!
  historyButton.addEventListener('click', () => {
    if (history.isOpen) history.close()
    else history.open()
    historyButton.setAttribute('aria-pressed', String(history.isOpen))
  })

  if (token) {
    // Signed in: the name is the token's. Signing out deletes what this browser kept for this person.
    const signOut = root.querySelector<HTMLButtonElement>('.sign-out')!
    signOut.hidden = false
    signOut.addEventListener('click', () => {
      signOut.disabled = true
      void mounted.signOut().then(() => location.assign('/'))
    })
  } else {
    // Click yourself in the presence list to change your name.
    root.querySelector('[data-testid="presence-list"]')!.addEventListener('click', (e) => {
      if (!(e.target as Element).closest('[data-self="true"]')) return
      const next = window.prompt('Your name', mounted.user.name)?.trim()
      if (!next) return
      mounted.setUser({ name: next })
      saveUser(mounted.user)
    })
  }

  const share = root.querySelector<HTMLButtonElement>('.share')!
  share.addEventListener('click', () => {
    const link = new URL(docPath(name), location.href).href
    const done = (): void => {
      share.textContent = 'Link copied'
      setTimeout(() => { share.textContent = 'Share' }, 2000)
    }
    if (navigator.clipboard) navigator.clipboard.writeText(link).then(done, () => window.prompt('Copy this link', link))
    else window.prompt('Copy this link', link)
  })
}
