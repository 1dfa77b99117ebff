/**
 * The editor page's history panel (docs/history.md, "In the web editor"):
 * the document's versions (when, who edited, size), a read-only preview of
 * one, what changed since it (against the current document or the version
 * before it), saving a version now, and restoring one, which everyone
 * editing sees at once. It talks to the history routes of the HTTP API.
 */
import { Editor } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import Collaboration from '@tiptap/extension-collaboration'
import * as Y from 'yjs'

interface VersionInfo {
  id: string
  at: number
  reason: 'auto' | 'manual' | 'before-restore' | 'before-put'
  label?: string
  users: Array<{ id: string, name?: string }>
  bytes: number
}

export interface HistoryPanelOptions {
  /** `http(s)://host:port` of the Quire server. */
  api: string
  doc: string
  token?: string
  /** Whether this person may save and restore (read-only people may look). */
  canWrite: () => boolean
}

export interface HistoryPanel {
  element: HTMLElement
  open (): void
  close (): void
  readonly isOpen: boolean
  destroy (): void
}

/** While open, the list is read again this often (automatic versions appear by themselves). */
const REFRESH_MS = 5_000
const PAGE = 50

const REASONS: Record<VersionInfo['reason'], string> = {
  auto: 'Saved automatically',
  manual: 'Saved version',
  'before-restore': 'Before a restore',
  'before-put': 'Before it was replaced',
}

export function createHistoryPanel (options: HistoryPanelOptions): HistoryPanel {
  const element = document.createElement('aside')
  element.className = 'history'
  element.hidden = true
  element.setAttribute('aria-label', 'Version history')
  element.dataset.testid = 'history-panel'
  element.innerHTML = `
    <div class="history-head">
      <h2>History</h2>
      <button type="button" class="button history-save" data-testid="history-save">Save version</button>
    </div>
    <p class="history-error" data-testid="history-error" role="alert" hidden></p>
    <ol class="history-list" data-testid="history-list"></ol>
    <button type="button" class="button history-more" data-testid="history-more" hidden>Older versions</button>
    <section class="history-detail" data-testid="history-detail" hidden>
      <div class="history-tabs" role="tablist">
        <button type="button" role="tab" class="history-tab" data-view="preview" data-testid="history-show-preview" aria-selected="true">Preview</button>
        <button type="button" role="tab" class="history-tab" data-view="diff" data-testid="history-show-diff" aria-selected="false">Changes</button>
        <select class="history-base" data-testid="history-diff-base" aria-label="Compare with" hidden>
          <option value="current">since then, to now</option>
          <option value="previous">from the version before</option>
        </select>
      </div>
      <div class="quire history-preview" data-testid="history-preview"></div>
      <div class="history-diff" data-testid="history-diff" hidden></div>
      <button type="button" class="button primary history-restore" data-testid="history-restore">Restore this version</button>
    </section>`
  const q = <T extends HTMLElement>(selector: string): T => element.querySelector(selector) as T
  const list = q<HTMLOListElement>('.history-list')
  const error = q('.history-error')
  const more = q<HTMLButtonElement>('.history-more')
  const detail = q('.history-detail')
  const previewBox = q('.history-preview')
  const diffBox = q('.history-diff')
  const base = q<HTMLSelectElement>('.history-base')
  const restoreButton = q<HTMLButtonElement>('.history-restore')
  const saveButton = q<HTMLButtonElement>('.history-save')

  let versions: VersionInfo[] = []
  let next: string | null = null
  let selected: VersionInfo | null = null
  let view: 'preview' | 'diff' = 'preview'
  let preview: { editor: Editor, ydoc: Y.Doc } | null = null
  let timer: ReturnType<typeof setInterval> | null = null

  const url = (rest = ''): string => `${options.api}/api/documents/${encodeURIComponent(options.doc)}/versions${rest}`
  const call = async (rest: string, init: RequestInit = {}): Promise<Response> => {
    const headers: Record<string, string> = { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) }
    const res = await fetch(url(rest), { ...init, headers })
    if (!res.ok) {
      const body = await res.json().catch(() => ({})) as { error?: string }
      throw new Error(body.error ?? `the server answered ${res.status}`)
    }
    return res
  }
  const fail = (err: unknown): void => {
    error.textContent = `History: ${err instanceof Error ? err.message : String(err)}`
    error.hidden = false
  }
  const ok = (): void => { error.hidden = true }

  async function refresh (): Promise<void> {
    const page = await (await call(`?limit=${PAGE}`)).json() as { versions: VersionInfo[], next: string | null }
    // Keep older pages already loaded; the first page replaces what it covers.
    const oldest = page.versions[page.versions.length - 1]
    versions = [...page.versions, ...(oldest === undefined ? [] : versions.filter((v) => v.id < oldest.id))]
    if (versions.length === page.versions.length) next = page.next
    ok()
    renderList()
  }

  async function loadMore (): Promise<void> {
    if (next === null) return
    const page = await (await call(`?limit=${PAGE}&before=${next}`)).json() as { versions: VersionInfo[], next: string | null }
    versions = [...versions, ...page.versions]
    next = page.next
    renderList()
  }

  function renderList (): void {
    list.replaceChildren(...versions.map((v) => {
      const item = document.createElement('li')
      item.className = 'history-item'
      item.dataset.testid = 'history-item'
      item.dataset.id = v.id
      item.setAttribute('aria-selected', String(v.id === selected?.id))
      const button = document.createElement('button')
      button.type = 'button'
      const title = document.createElement('span')
      title.className = 'history-when'
      title.textContent = new Date(v.at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
      const what = document.createElement('span')
      what.className = 'history-what'
      what.textContent = v.label ?? REASONS[v.reason]
      const who = document.createElement('span')
      who.className = 'history-who'
      who.dataset.testid = 'history-users'
      who.textContent = [v.users.map((u) => u.name ?? (u.id === 'anonymous' ? 'Anonymous' : u.id)).join(', '), formatBytes(v.bytes)].filter(Boolean).join(' · ')
      button.append(title, what, who)
      button.addEventListener('click', () => { void select(v).catch(fail) })
      item.append(button)
      return item
    }))
    if (versions.length === 0) {
      const empty = document.createElement('li')
      empty.className = 'history-empty'
      empty.textContent = 'No versions yet. They are saved as you write, or with "Save version".'
      list.append(empty)
    }
    more.hidden = next === null
  }

  async function select (v: VersionInfo): Promise<void> {
    selected = v
    renderList()
    detail.hidden = false
    restoreButton.hidden = !options.canWrite()
    const previous = versions[versions.indexOf(v) + 1]
    base.querySelector<HTMLOptionElement>('option[value="previous"]')!.disabled = previous === undefined
    if (previous === undefined) base.value = 'current'
    await show()
  }

  async function show (): Promise<void> {
    const v = selected
    if (v === null) return
    for (const tab of element.querySelectorAll<HTMLElement>('.history-tab')) tab.setAttribute('aria-selected', String(tab.dataset.view === view))
    previewBox.hidden = view !== 'preview'
    diffBox.hidden = view !== 'diff'
    base.hidden = view !== 'diff'
    if (view === 'preview') {
      const state = new Uint8Array(await (await call(`/${v.id}?format=yjs`)).arrayBuffer())
      if (selected !== v) return
      showPreview(state)
    } else {
      const previous = versions[versions.indexOf(v) + 1]
      const path = base.value === 'previous' && previous !== undefined ? `/${previous.id}/diff/${v.id}` : `/${v.id}/diff/current`
      const html = await (await call(`${path}?format=html`)).text()
      if (selected !== v) return
      // The server escapes every character of the text; only <ins>, <del> and <br> are markup.
      diffBox.innerHTML = html === '' ? '<p class="history-empty">The document is empty.</p>' : html
      if (!diffBox.querySelector('ins, del')) diffBox.insertAdjacentHTML('afterbegin', '<p class="history-same" data-testid="history-same">No changes.</p>')
    }
    ok()
  }

  function dropPreview (): void {
    preview?.editor.destroy()
    preview?.ydoc.destroy()
    preview = null
    previewBox.replaceChildren()
  }

  function showPreview (state: Uint8Array): void {
    dropPreview()
    const ydoc = new Y.Doc()
    Y.applyUpdate(ydoc, state)
    const editor = new Editor({
      element: previewBox,
      extensions: [StarterKit.configure({ undoRedo: false }), Collaboration.configure({ document: ydoc, field: 'default' })],
      editable: false,
      injectCSS: false,
    })
    preview = { editor, ydoc }
  }

  saveButton.addEventListener('click', () => {
    const label = window.prompt('Name this version (optional)', '')
    if (label === null) return
    saveButton.disabled = true
    void call('', { method: 'POST', body: JSON.stringify({ label }) })
      .then(() => refresh())
      .catch(fail)
      .finally(() => { saveButton.disabled = false })
  })
  restoreButton.addEventListener('click', () => {
    const v = selected
    if (v === null) return
    restoreButton.disabled = true
    // Nothing is lost: the server first keeps a version of the document as it is now.
    void call(`/${v.id}/restore`, { method: 'POST' })
      .then(() => refresh())
      .catch(fail)
      .finally(() => { restoreButton.disabled = false })
  })
  for (const tab of element.querySelectorAll<HTMLElement>('.history-tab')) {
    tab.addEventListener('click', () => {
      view = tab.dataset.view === 'diff' ? 'diff' : 'preview'
      void show().catch(fail)
    })
  }
  base.addEventListener('change', () => { void show().catch(fail) })
  more.addEventListener('click', () => { void loadMore().catch(fail) })

  const panel: HistoryPanel = {
    element,
    get isOpen () { return !element.hidden },
    open () {
      element.hidden = false
      saveButton.hidden = !options.canWrite()
      void refresh().catch(fail)
      timer ??= setInterval(() => { void refresh().catch(fail) }, REFRESH_MS)
    },
    close () {
      element.hidden = true
      if (timer !== null) clearInterval(timer)
      timer = null
      // The preview is a second .ProseMirror on the page: only while the panel shows it.
      dropPreview()
      selected = null
      detail.hidden = true
    },
    destroy () {
      panel.close()
      element.remove()
    },
  }
  return panel
}

function formatBytes (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
