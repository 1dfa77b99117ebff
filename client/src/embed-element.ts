/**
 * /embed.js: defines `<quire-editor server doc token user-name user-color>`
 * (docs/embedding.md). It works from any origin: the module and its styles come
 * from the Quire server (served with CORS `*`), the editor lives in an open
 * shadow root so the host page's styles and ours never meet.
 *
 * Without `server`, the element talks to the server it was loaded from.
 * It fires `quire-status` (detail: EditorStatus) whenever its status changes.
 * With a `token`, the token's `sub` and `name` are who others see
 * (`user-name` and `user-id` are then ignored). `signOut()` deletes what
 * this browser keeps for that person on that server.
 */
import { clearUserData, mountEditor, type EditorStatus, type MountedEditor } from './lib.js'

const HOST_CSS = `
:host { all: initial; display: block; border: 1px solid #e3e5e8; border-radius: 10px; overflow: hidden; background: #fff; }
:host([hidden]) { display: none; }
.quire-host { height: 100%; }
`

export class QuireEditorElement extends HTMLElement {
  static observedAttributes = ['server', 'doc', 'token', 'user-name', 'user-color', 'user-id', 'offline']
  private mounted: MountedEditor | null = null

  /** The Tiptap editor, once mounted. */
  get editor (): MountedEditor['editor'] | null { return this.mounted?.editor ?? null }
  get provider (): MountedEditor['provider'] | null { return this.mounted?.provider ?? null }
  get status (): EditorStatus | null { return this.mounted?.status ?? null }

  /**
   * Sign the person of this element's token out of its server in this
   * browser: disconnect, empty the editor (it stays, read-only) and delete
   * every local copy they have here, in every tab. Set a new `token` to edit again.
   */
  async signOut (): Promise<void> {
    if (this.mounted) await this.mounted.signOut()
    else await clearUserData({ server: this.getAttribute('server') || defaultServer(), token: this.getAttribute('token') })
  }

  connectedCallback (): void {
    this.mount()
  }

  disconnectedCallback (): void {
    this.unmount()
  }

  attributeChangedCallback (name: string, before: string | null, after: string | null): void {
    if (!this.isConnected || before === after) return
    if (this.mounted && (name === 'user-name' || name === 'user-color')) {
      this.mounted.setUser({ name: this.getAttribute('user-name') ?? undefined, color: this.getAttribute('user-color') ?? undefined })
      return
    }
    this.unmount()
    this.mount()
  }

  private mount (): void {
    const doc = this.getAttribute('doc')
    if (this.mounted || !doc) return
    const shadow = this.shadowRoot ?? this.attachShadow({ mode: 'open' })
    shadow.replaceChildren()
    const style = document.createElement('style')
    style.textContent = HOST_CSS
    const container = document.createElement('div')
    container.className = 'quire-host'
    shadow.append(style, container)
    this.mounted = mountEditor(container, {
      server: this.getAttribute('server') || defaultServer(),
      doc,
      token: this.getAttribute('token') ?? undefined,
      user: {
        id: this.getAttribute('user-id') ?? undefined,
        name: this.getAttribute('user-name') ?? undefined,
        color: this.getAttribute('user-color') ?? undefined,
      },
      offline: this.getAttribute('offline') !== 'false',
      onStatus: (status) => this.dispatchEvent(new CustomEvent('quire-status', { detail: status, bubbles: true, composed: true })),
    })
  }

  private unmount (): void {
    this.mounted?.destroy()
    this.mounted = null
  }
}

/** The server this script came from. */
function defaultServer (): string {
  const origin = new URL(import.meta.url)
  return `${origin.protocol === 'https:' ? 'wss:' : 'ws:'}//${origin.host}`
}

if (!customElements.get('quire-editor')) customElements.define('quire-editor', QuireEditorElement)

declare global {
  interface HTMLElementTagNameMap {
    'quire-editor': QuireEditorElement
  }
}
