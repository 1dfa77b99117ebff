/**
 * mountEditor: the whole collaborative editor (status, presence, typing
 * indicator, toolbar, document) inside any element. The web app, the
 * `<quire-editor>` element and the iframe page are all this one function.
 */
import { Editor } from '@tiptap/core'
import { isChangeOrigin } from '@tiptap/extension-collaboration'
import * as Y from 'yjs'
import { IndexeddbPersistence } from 'y-indexeddb'
import { QuireProvider, type CloseInfo } from '../provider/quire-provider.js'
import type { TokenSource } from '../provider/token.js'
import { collaborativeExtensions } from './extensions.js'
import { keepCaretOnBlur } from './sticky-carets.js'
import { presentUsers, TypingSignal, typingText } from './typing.js'
import { renderPresence } from './presence.js'
import { describeRefusal, renderStatus, type EditorStatus } from './status.js'
import { createToolbar } from './toolbar.js'
import { ensureStyles } from './styles.js'
import { normalizeUser, type EditorUser } from './user.js'

export interface MountEditorOptions {
  /** Quire server: `wss://quire.example.com` (or `ws://localhost:1234`). */
  server: string
  /** Document name. */
  doc: string
  /** A JWT for servers with AUTH_SECRET set. */
  token?: string
  /** Asked for a fresh JWT on every (re)connect and before the current one expires. */
  getToken?: TokenSource
  /** Who is editing; missing parts are filled in (a random id, a colour from the id). */
  user?: Partial<EditorUser>
  /** Called whenever the connection status, saved state or access changes. */
  onStatus?: (status: EditorStatus) => void
  /** Keep the document and unsent edits in IndexedDB across reloads (default true). */
  offline?: boolean
  /** Sync with other tabs of the browser directly (default true). */
  crossTab?: boolean
  /** Text shown in an empty document. */
  placeholder?: string
  /** Focus the editor once mounted (default false). */
  autofocus?: boolean
}

export interface MountedEditor {
  editor: Editor
  provider: QuireProvider
  ydoc: Y.Doc
  readonly user: EditorUser
  readonly status: EditorStatus
  /** Change the name or colour others see. */
  setUser (user: Partial<EditorUser>): void
  /** Disconnect, stop everything and remove the editor from the element. */
  destroy (): void
}

/** IndexedDB rarely takes long; never let it hold up the connection for more than this. */
const LOCAL_LOAD_WAIT_MS = 1500

export function mountEditor (element: HTMLElement, options: MountEditorOptions): MountedEditor {
  let user = normalizeUser(options.user)
  const ui = buildSkeleton(element)
  ensureStyles(ui.root)
  fillShadowRootGaps(ui.root)

  const ydoc = new Y.Doc()
  const provider = new QuireProvider({
    server: options.server,
    doc: options.doc,
    ydoc,
    token: options.token,
    getToken: options.getToken,
    crossTab: options.crossTab,
    connect: false,
  })

  const sticky = keepCaretOnBlur(provider.awareness)
  const editor = new Editor({
    element: ui.content,
    extensions: collaborativeExtensions({
      ydoc,
      awareness: sticky.awareness,
      user,
      placeholder: options.placeholder ?? 'Start writing…',
    }),
    injectCSS: false,
    autofocus: options.autofocus ? 'end' : false,
    editorProps: { attributes: { 'aria-label': `Document ${options.doc}`, spellcheck: 'true' } },
  })

  const toolbar = createToolbar(editor)
  ui.toolbarSlot.replaceWith(toolbar.element)
  editor.on('transaction', () => toolbar.update())

  // Typing: our own changes only (remote ones come through the sync plugin).
  const typing = new TypingSignal(provider.awareness)
  editor.on('update', ({ transaction }) => {
    if (transaction.docChanged && !isChangeOrigin(transaction)) typing.input()
  })
  editor.on('blur', () => typing.stop())

  const renderPeople = (): void => {
    const users = presentUsers(provider.awareness, user.id)
    renderPresence(ui.presence, users)
    const text = typingText(users.filter((u) => u.typing && !u.self).map((u) => u.name))
    if (ui.typing.textContent !== text) ui.typing.textContent = text
  }
  provider.awareness.on('change', renderPeople)

  const currentStatus = (): EditorStatus => ({
    status: provider.status,
    saved: provider.saved,
    synced: provider.synced,
    access: provider.access,
    stoppedBy: provider.stoppedBy,
    problem: provider.stoppedBy ? describeRefusal(provider.stoppedBy) : null,
  })
  const statusChanged = (): void => {
    const s = currentStatus()
    renderStatus(ui.status, s)
    ui.problem.hidden = s.problem === null
    ui.problem.textContent = s.problem ?? ''
    const editable = s.access === 'write'
    if (editor.isEditable !== editable) {
      editor.setEditable(editable, false)
      if (!editable) typing.stop()
      toolbar.update()
    }
    options.onStatus?.(s)
  }
  for (const event of ['status', 'saved', 'synced', 'access', 'stopped'] as const) provider.on(event, statusChanged)
  statusChanged()
  renderPeople()

  // Connect once the local copy is in, so the server only sends what we lack.
  let destroyed = false
  let persistence: IndexeddbPersistence | null = null
  if (options.offline === false) provider.connect()
  else {
    void openLocalCopy(`quire:${provider.url}`, ydoc).then((local) => {
      if (destroyed) {
        local?.destroy().catch(() => {})
        return
      }
      persistence = local
      provider.connect()
    })
  }

  return {
    editor,
    provider,
    ydoc,
    get user () { return user },
    get status () { return currentStatus() },
    setUser (next) {
      user = normalizeUser({ ...user, ...next })
      editor.commands.updateUser(user)
      renderPeople()
    },
    destroy () {
      if (destroyed) return
      destroyed = true
      typing.destroy()
      provider.awareness.off('change', renderPeople)
      sticky.release()
      editor.destroy()
      provider.destroy()
      // The local copy is written as changes happen; closing it loses nothing.
      persistence?.destroy().catch(() => {})
      ydoc.destroy()
      ui.root.remove()
    },
  }
}

interface Skeleton {
  root: HTMLElement
  status: HTMLElement
  typing: HTMLElement
  presence: HTMLElement
  problem: HTMLElement
  toolbarSlot: HTMLElement
  content: HTMLElement
}

function buildSkeleton (element: HTMLElement): Skeleton {
  const root = document.createElement('div')
  root.className = 'quire'
  root.innerHTML = `
    <div class="quire-header">
      <div class="quire-status" data-testid="connection-status" data-status="connecting" data-saved="true" role="status">
        <span class="quire-status-dot" aria-hidden="true"></span><span class="quire-status-label">Connecting…</span>
      </div>
      <div class="quire-typing" data-testid="typing-indicator" aria-live="polite"></div>
      <ul class="quire-presence" data-testid="presence-list" aria-label="People in this document"></ul>
    </div>
    <p class="quire-problem" role="alert" hidden></p>
    <div class="quire-toolbar-slot"></div>
    <div class="quire-scroll"><div class="quire-page"></div></div>`
  element.append(root)
  const q = (selector: string): HTMLElement => root.querySelector(selector) as HTMLElement
  return {
    root,
    status: q('.quire-status'),
    typing: q('.quire-typing'),
    presence: q('.quire-presence'),
    problem: q('.quire-problem'),
    toolbarSlot: q('.quire-toolbar-slot'),
    content: q('.quire-page'),
  }
}

/**
 * The IndexedDB copy, loaded (or given up on after a moment), or null where
 * IndexedDB is unusable: some private modes, storage blocked in third-party
 * frames. Probed first, because y-indexeddb leaves a failed open as an
 * unhandled rejection.
 */
async function openLocalCopy (name: string, ydoc: Y.Doc): Promise<IndexeddbPersistence | null> {
  if (!await indexedDbUsable()) return null
  const persistence = new IndexeddbPersistence(name, ydoc)
  await Promise.race([persistence.whenSynced, delay(LOCAL_LOAD_WAIT_MS)])
  return persistence
}

function indexedDbUsable (): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      const req = indexedDB.open('quire-probe')
      req.onsuccess = () => {
        req.result.close()
        resolve(true)
      }
      req.onerror = (event) => {
        event.preventDefault()
        console.warn('quire: no offline copy (IndexedDB unavailable)', req.error)
        resolve(false)
      }
    } catch {
      resolve(false)
    }
  })
}

/**
 * y-tiptap asks the editor's root for createRange(), which documents have and
 * shadow roots do not; give ours the document's (on this root only, not on
 * ShadowRoot.prototype, to leave the host page alone).
 */
function fillShadowRootGaps (node: Node): void {
  const root = node.getRootNode() as ShadowRoot & { createRange?: () => Range }
  if (root instanceof ShadowRoot && typeof root.createRange !== 'function') {
    Object.defineProperty(root, 'createRange', { value: () => document.createRange(), configurable: true })
  }
}

function delay (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export type { EditorStatus, CloseInfo }
