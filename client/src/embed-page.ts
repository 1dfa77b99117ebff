/**
 * `/embed/<docName>`: the editor alone, for an <iframe>. Query parameters:
 * `name`, `color`, `id`, `token` (whose `sub` and `name` then win). It tells
 * the parent window about its status with
 * postMessage({ source: 'quire', type: 'status', doc, status }), and signs
 * out when the parent posts { source: 'quire', type: 'sign-out' } (answered
 * with { source: 'quire', type: 'signed-out', doc }).
 */
import { mountEditor } from '@quire/editor'
import { docNameFrom, serverUrl } from './app/routes.js'

const params = new URLSearchParams(location.search)
const doc = docNameFrom(location.pathname, '/embed/')
const root = document.getElementById('app')!
if (doc === null) {
  root.textContent = 'No document: use /embed/<document name>.'
} else {
  document.title = `${doc} · Quire`
  const mounted = mountEditor(root, {
    server: serverUrl(),
    doc,
    token: params.get('token') ?? undefined,
    user: { name: params.get('name') ?? undefined, color: params.get('color') ?? undefined, id: params.get('id') ?? undefined },
    onStatus: (status) => {
      if (window.parent !== window) window.parent.postMessage({ source: 'quire', type: 'status', doc, status }, '*')
    },
  })

  window.addEventListener('message', (event) => {
    const data = event.data as { source?: unknown, type?: unknown } | null
    if (event.source !== window.parent || window.parent === window || data?.source !== 'quire' || data.type !== 'sign-out') return
    void mounted.signOut().then(() => window.parent.postMessage({ source: 'quire', type: 'signed-out', doc }, '*'))
  })
}
