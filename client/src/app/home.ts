/** `/`: start a new document, open one by name, or go back to a recent one. */
import { currentUser, saveUser } from './identity.js'
import { newDocName } from './names.js'
import { recentDocs } from './recent.js'
import { docPath, serverUrl } from './routes.js'
import { changeText, editingText, eventsUrl, relativeTime, watchActivity } from './live-activity.js'

export function renderHome (root: HTMLElement): void {
  document.title = 'Quire'
  const user = currentUser()
  root.innerHTML = `
    <header class="app-header">
      <a class="brand" href="/"><span class="brand-mark" aria-hidden="true">Q</span>Quire</a>
    </header>
    <main class="home">
      <section class="hero">
        <h1>Write together, in real time.</h1>
        <p>Every change is stored as you type. Keep writing offline; it syncs the moment you are back.</p>
        <div class="hero-actions">
          <button type="button" class="button primary" data-testid="new-document">New document</button>
        </div>
        <form class="open-form" data-testid="open-document">
          <label class="sr-only" for="open-name">Document name</label>
          <input id="open-name" name="doc" placeholder="Open a document by name" autocomplete="off" required>
          <button type="submit" class="button">Open</button>
        </form>
      </section>
      <section class="recent" hidden>
        <h2>Recent documents</h2>
        <ul class="recent-list" data-testid="recent-documents"></ul>
      </section>
      <section class="you">
        <label for="your-name">Your name, as others see it</label>
        <input id="your-name" autocomplete="name" maxlength="64">
      </section>
    </main>`

  const go = (name: string): void => { location.assign(docPath(name)) }
  root.querySelector('[data-testid="new-document"]')!.addEventListener('click', () => go(newDocName()))
  const form = root.querySelector<HTMLFormElement>('.open-form')!
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const name = new FormData(form).get('doc')?.toString().trim()
    if (name) go(name)
  })

  const recent = recentDocs()
  if (recent.length > 0) {
    root.querySelector<HTMLElement>('.recent')!.hidden = false
    const list = root.querySelector('.recent-list')!
    const live = new Map<string, { editing: HTMLElement, changed: HTMLElement }>()
    for (const doc of recent) {
      const item = document.createElement('li')
      item.dataset.testid = 'recent-document'
      item.dataset.doc = doc.name
      const link = document.createElement('a')
      link.href = docPath(doc.name)
      link.textContent = doc.name
      const editing = document.createElement('span')
      editing.className = 'recent-editing'
      editing.dataset.testid = 'editing-now'
      const changed = document.createElement('span')
      changed.className = 'recent-changed'
      changed.dataset.testid = 'last-change'
      const time = document.createElement('span')
      time.className = 'recent-time'
      time.textContent = relativeTime(doc.openedAt)
      const info = document.createElement('span')
      info.className = 'recent-info'
      info.append(editing, changed, time)
      item.append(link, info)
      list.append(item)
      live.set(doc.name, { editing, changed })
    }
    // "N editing now" and the last change, live (docs/events.md).
    const token = new URLSearchParams(location.search).get('token')
    watchActivity(eventsUrl(serverUrl(), recent.map((d) => d.name), token), recent.map((d) => d.name), (name, activity) => {
      const shown = live.get(name)
      if (shown === undefined) return
      shown.editing.textContent = editingText(activity.users.size)
      shown.editing.dataset.count = String(activity.users.size)
      shown.changed.textContent = changeText(activity.lastChange)
    })
  }

  const nameInput = root.querySelector<HTMLInputElement>('#your-name')!
  nameInput.value = user.name
  nameInput.addEventListener('change', () => {
    const name = nameInput.value.trim()
    if (name) saveUser({ ...user, name })
  })
}
