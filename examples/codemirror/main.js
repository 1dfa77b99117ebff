// Quire's provider with CodeMirror 6 through y-codemirror.next: the same
// server, tokens and offline behaviour as Quire's own editor, another binding.
import * as Y from 'yjs'
import { QuireProvider } from '@quire/provider'
import { yCollab } from 'y-codemirror.next'
import { basicSetup, EditorView } from 'codemirror'

const params = new URLSearchParams(location.search)
const name = params.get('name') ?? 'Guest'
const color = '#3b5bdb'

const ydoc = new Y.Doc()
const provider = new QuireProvider({
  server: import.meta.env.VITE_QUIRE_SERVER,
  doc: params.get('doc') ?? 'examples/code',
  ydoc,
  // With AUTH_SECRET on the server: getToken: () => fetch('/api/quire-token').then((r) => r.text()),
})
// What y-codemirror.next draws other people's carets with.
provider.awareness.setLocalStateField('user', { name, color, colorLight: color + '33' })

const ytext = ydoc.getText('codemirror')
const view = new EditorView({
  doc: ytext.toString(),
  extensions: [basicSetup, yCollab(ytext, provider.awareness, { undoManager: new Y.UndoManager(ytext) })],
  parent: document.getElementById('editor'),
})

provider.on('status', (status) => { document.getElementById('status').textContent = status })
provider.on('saved', (saved) => { document.getElementById('saved').textContent = saved ? 'saved' : 'saving…' })

// For the example's test (test/packages/): the view and the provider.
window.quire = { view, provider, ydoc }
