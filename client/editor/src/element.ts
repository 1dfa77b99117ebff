/**
 * The `<quire-editor server doc token user-name user-color>` element
 * (docs/embedding.md). The editor lives in an open shadow root so the host
 * page's styles and ours never meet.
 *
 * Nothing is defined on import: `defineQuireEditor()` creates the class and
 * registers it, so importing this package during server-side rendering (no
 * `HTMLElement`, no `customElements`) is safe.
 *
 * Without `server`, the element talks to the server given to
 * defineQuireEditor, else to the page's own origin. It fires `quire-status`
 * (detail: EditorStatus) whenever its status changes. With a `token`, the
 * token's `sub` and `name` are who others see (`user-name` and `user-id` are
 * then ignored). `signOut()` deletes what this browser keeps for that person
 * on that server.
 */
import { clearUserData, type QuireProvider } from '@quire/provider'
import { mountEditor, type MountedEditor } from './mount.js'
import type { EditorStatus } from './status.js'

const HOST_CSS = `
:host { all: initial; display: block; border: 1px solid #e3e5e8; border-radius: 10px; overflow: hidden; background: #fff; }
:host([hidden]) { display: none; }
.quire-host { height: 100%; }
`

const OBSERVED = ['server', 'doc', 'token', 'user-name', 'user-color', 'user-id', 'offline'] as const

/** The element's events, for `addEventListener` with types. */
export interface QuireEditorEventMap extends HTMLElementEventMap {
  /** The connection status, saved state or access changed. Bubbles out of the shadow root. */
  'quire-status': CustomEvent<EditorStatus>
}

/** A `<quire-editor>` element. */
export interface QuireEditorElement extends HTMLElement {
  /** The Tiptap editor, once mounted. */
  readonly editor: MountedEditor['editor'] | null
  readonly provider: QuireProvider | null
  readonly status: EditorStatus | null
  /**
   * Sign the person of this element's token out of its server in this
   * browser: disconnect, empty the editor (it stays, read-only) and delete
   * every local copy they have here, in every tab. Set a new `token` to edit again.
   */
  signOut (): Promise<void>
  addEventListener<K extends keyof QuireEditorEventMap> (type: K, listener: (this: QuireEditorElement, ev: QuireEditorEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void
  addEventListener (type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void
  removeEventListener<K extends keyof QuireEditorEventMap> (type: K, listener: (this: QuireEditorElement, ev: QuireEditorEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void
  removeEventListener (type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void
}

export interface DefineQuireEditorOptions {
  /** The server of elements without a `server` attribute (`wss://host`, or `https://host` for the same; default: the page's own origin). */
  server?: string
}

/**
 * Register the element under `tagName` (once; a second call returns the
 * class already registered) and return its class. Call it in the browser,
 * before or after the tags are in the page.
 */
export function defineQuireEditor (tagName = 'quire-editor', options: DefineQuireEditorOptions = {}): CustomElementConstructor & { prototype: QuireEditorElement } {
  const existing = customElements.get(tagName)
  if (existing) return existing as CustomElementConstructor & { prototype: QuireEditorElement }
  const defined = elementClass(() => options.server ?? pageServer())
  customElements.define(tagName, defined)
  return defined
}

function elementClass (defaultServer: () => string): CustomElementConstructor & { prototype: QuireEditorElement } {
  return class QuireEditor extends HTMLElement implements QuireEditorElement {
    static observedAttributes = [...OBSERVED]
    private mounted: MountedEditor | null = null

    get editor (): MountedEditor['editor'] | null { return this.mounted?.editor ?? null }
    get provider (): QuireProvider | null { return this.mounted?.provider ?? null }
    get status (): EditorStatus | null { return this.mounted?.status ?? null }

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
}

/** The page's own origin: the provider takes `http(s)://` as the same server's `ws(s)://`. */
function pageServer (): string {
  return location.origin
}

declare global {
  interface HTMLElementTagNameMap {
    'quire-editor': QuireEditorElement
  }
}
