/**
 * `/embed/<docName>`: the editor alone, for an <iframe>. Query parameters:
 * `name`, `color`, `token`. It tells the parent window about its status with
 * postMessage({ source: 'quire', type: 'status', doc, status }).
 */
import { mountEditor } from './editor/mount.js'
import { docNameFrom, serverUrl } from './app/routes.js'

const params = new URLSearchParams(location.search)
const doc = docNameFrom(location.pathname, '/embed/')
const root = document.getElementById('app')!
if (doc === null) {
  root.textContent = 'No document: use /embed/<document name>.'
} else {
  document.title = `${doc} · Quire`
  mountEditor(root, {
    server: serverUrl(),
    doc,
    token: params.get('token') ?? undefined,
    user: { name: params.get('name') ?? undefined, color: params.get('color') ?? undefined, id: params.get('id') ?? undefined },
    onStatus: (status) => {
      if (window.parent !== window) window.parent.postMessage({ source: 'quire', type: 'status', doc, status }, '*')
    },
  })
}
