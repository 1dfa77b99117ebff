/**
 * mountEditor: the whole collaborative editor (status, presence, typing
 * indicator, toolbar, document) inside any element. The web app, the
 * `<quire-editor>` element and the iframe page are all this one function.
 */
import { Editor } from '@tiptap/core'
import { isChangeOrigin } from '@tiptap/extension-collaboration'
import * as Y from 'yjs'
import { QuireProvider, type ClearReason, type CloseInfo, type TokenSource } from '@quire/provider'
import { collaborativeExtensions } from './extensions.js'
import { keepCaretOnBlur } from './sticky-carets.js'
import { presentUsers, TypingSignal, typingText } from './typing.js'
import { renderPresence } from './presence.js'
import { describeProblem, locksEditor, renderStatus, type EditorStatus } from './status.js'
import { createToolbar } from './toolbar.js'
import { ensureStyles } from './styles.js'
import { normalizeUser, userFromToken, type EditorUser } from './user.js'

export interface MountEditorOptions {
  /** Quire server: `wss://quire.example.com` (or `ws://localhost:1234`). */
  server: string
  /** Document name. */
  doc: string
  /** A JWT for servers with AUTH_SECRET set. */
  token?: string
  /** Asked for a fresh JWT on every (re)connect and before the current one expires. */
  getToken?: TokenSource
  /**
   * With `getToken`: the `sub` your tokens carry, so this person's offline
   * copy opens before a token is fetched (say, offline). Default: the first token's `sub`.
   */
  identity?: string
  /**
   * Who is editing; missing parts are filled in (a random id, a colour from
   * the id). With a token, the id and name are the token's `sub` and `name`
   * (what the server shows others), whatever is given here.
   */
  user?: Partial<EditorUser>
  /** Called whenever the connection status, saved state or access changes. */
  onStatus?: (status: EditorStatus) => void
  /** Keep the document and unsent edits in IndexedDB across reloads, per signed-in person (default true). */
  offline?: boolean
  /** Sync with other tabs of the browser (the same person) directly (default true). */
  crossTab?: boolean
  /** Where WebSockets are refused, connect over the HTTP stream instead (default true; docs/editor.md, "Connection"). */
  fallback?: boolean
  /** Text shown in an empty document. */
  placeholder?: string
  /** Focus the editor once mounted (default false). */
  autofocus?: boolean
  /**
   * Add the editor's stylesheet to the page (or shadow root) as a `<style>`
   * (default true). `false` when the page links `@quire/editor/styles.css`
   * itself, say under a Content-Security-Policy without inline styles
   * (docs/embedding.md, "Theming").
   */
  styles?: boolean
  /**
   * A provider you made and keep (for `server` and `doc`): the editor edits
   * its Y.Doc instead of making its own, and destroy() leaves it open. The
   * connection options above (`token`, `offline`, …) are then the provider's.
   * @quire/react shares one provider between the editor and its hooks so.
   */
  provider?: QuireProvider
}

export interface MountedEditor {
  editor: Editor
  provider: QuireProvider
  ydoc: Y.Doc
  readonly user: EditorUser
  readonly status: EditorStatus
  /** Change the colour others see, and the name when no token sets it. */
  setUser (user: Partial<EditorUser>): void
  /**
   * Sign this person out of this server in this browser: disconnect, empty
   * the editor, delete every local copy they have here (all documents) and
   * empty their editors in other tabs. The editor stays, read-only; resolves
   * once the copies are deleted.
   */
  signOut (): Promise<void>
  /** Disconnect, stop everything and remove the editor from the element. */
  destroy (): void
}

/** The provider events that change what the status shows. */
const STATUS_EVENTS = ['status', 'transport', 'saved', 'synced', 'access', 'stopped', 'cleared'] as const

export function mountEditor (element: HTMLElement, options: MountEditorOptions): MountedEditor {
  const ui = buildSkeleton(element)
  if (options.styles !== false) ensureStyles(ui.root)
  fillShadowRootGaps(ui.root)

  const ownsProvider = options.provider === undefined
  // Connects once the local copy (this person's) is loaded, so the server only sends what we lack.
  const provider = options.provider ?? new QuireProvider({
    server: options.server,
    doc: options.doc,
    ydoc: new Y.Doc(),
    token: options.token,
    getToken: options.getToken,
    identity: options.identity,
    offline: options.offline !== false,
    crossTab: options.crossTab,
    fallback: options.fallback,
  })
  const ydoc = provider.ydoc
  // With a token, who we are is the token's: the server shows others nothing else.
  let user = normalizeUser({ ...options.user, ...userFromToken(provider.tokenUser) })

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

  // A 4401/4403 makes the editor read-only at once, until a connection is accepted again.
  let refused: CloseInfo | null = null
  const currentStatus = (): EditorStatus => {
    const hidden = provider.cleared !== null || (provider.stoppedBy !== null && locksEditor(provider.stoppedBy.code))
    return {
      status: provider.status,
      transport: provider.transport,
      saved: provider.saved,
      synced: provider.synced,
      access: provider.access,
      editable: provider.access === 'write' && refused === null && !hidden,
      stoppedBy: provider.stoppedBy,
      cleared: provider.cleared,
      problem: describeProblem(provider.stoppedBy, provider.cleared),
      hidden,
    }
  }
  const statusChanged = (): void => {
    if (provider.status === 'connected' && provider.stoppedBy === null) refused = null
    const s = currentStatus()
    renderStatus(ui.status, s)
    ui.problem.hidden = s.problem === null
    ui.problem.textContent = s.problem ?? ''
    // Refused (or forgotten): what this device kept is not shown to whoever was refused.
    ui.scroll.hidden = s.hidden
    if (editor.isEditable !== s.editable) {
      editor.setEditable(s.editable, false)
      if (!s.editable) typing.stop()
      toolbar.update()
    }
    options.onStatus?.(s)
  }
  const connectionClosed = (info: CloseInfo): void => {
    if (locksEditor(info.code)) refused = info
    statusChanged()
  }
  const tokenUserChanged = (): void => applyUser({})
  provider.on('connection-close', connectionClosed)
  for (const event of STATUS_EVENTS) provider.on(event, statusChanged)
  provider.on('token-user', tokenUserChanged)
  statusChanged()
  renderPeople()

  function applyUser (next: Partial<EditorUser>): void {
    const updated = normalizeUser({ ...user, ...next, ...userFromToken(provider.tokenUser) })
    if (updated.id === user.id && updated.name === user.name && updated.color === user.color) return
    user = updated
    editor.commands.updateUser(user)
    renderPeople()
  }

  let destroyed = false

  return {
    editor,
    provider,
    ydoc,
    get user () { return user },
    get status () { return currentStatus() },
    setUser: applyUser,
    async signOut () {
      await provider.signOut()
    },
    destroy () {
      if (destroyed) return
      destroyed = true
      typing.destroy()
      provider.awareness.off('change', renderPeople)
      provider.off('connection-close', connectionClosed)
      for (const event of STATUS_EVENTS) provider.off(event, statusChanged)
      provider.off('token-user', tokenUserChanged)
      sticky.release()
      editor.destroy()
      if (ownsProvider) {
        // The local copy is written as changes happen; closing it loses nothing.
        provider.destroy()
        ydoc.destroy()
      }
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
  scroll: HTMLElement
  content: HTMLElement
}

function buildSkeleton (element: HTMLElement): Skeleton {
  const root = document.createElement('div')
  root.className = 'quire'
  root.innerHTML = `
    <div class="quire-header">
      <div class="quire-status" data-testid="connection-status" data-status="connecting" data-saved="true" role="status">
        <span class="quire-status-dot" aria-hidden="true"></span><span class="quire-status-label">Connecting…</span><span class="quire-status-hint" hidden></span>
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
    scroll: q('.quire-scroll'),
    content: q('.quire-page'),
  }
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

export type { EditorStatus, CloseInfo, ClearReason }
