/** The presence list: an avatar (initials in the user's colour) and name per person; we are marked. */
import { initials } from './user.js'
import type { PresentUser } from './typing.js'

export function renderPresence (list: HTMLElement, users: PresentUser[]): void {
  const items = users.map((user) => {
    const item = document.createElement('li')
    item.dataset.testid = 'presence-user'
    item.dataset.self = String(user.self)
    item.className = 'quire-person'
    item.title = user.self ? `${user.name} (you)` : user.name
    item.style.setProperty('--quire-user', user.color)
    const avatar = document.createElement('span')
    avatar.className = 'quire-avatar'
    avatar.style.backgroundColor = user.color
    avatar.textContent = initials(user.name)
    avatar.setAttribute('aria-hidden', 'true')
    const name = document.createElement('span')
    name.className = 'quire-person-name'
    name.textContent = user.name
    item.append(avatar, name)
    if (user.self) {
      const you = document.createElement('span')
      you.className = 'quire-person-you'
      you.textContent = ' (you)'
      item.append(you)
    }
    return item
  })
  list.replaceChildren(...items)
}
