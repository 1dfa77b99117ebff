/** Documents this browser opened lately, newest first (localStorage). */
const KEY = 'quire:recent'
const MAX = 12

export interface RecentDoc {
  name: string
  openedAt: number
}

export function recentDocs (): RecentDoc[] {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) ?? '[]') as unknown
    return Array.isArray(list) ? list.filter((d): d is RecentDoc => typeof d?.name === 'string' && typeof d?.openedAt === 'number') : []
  } catch {
    return []
  }
}

export function rememberDoc (name: string): void {
  const list = [{ name, openedAt: Date.now() }, ...recentDocs().filter((d) => d.name !== name)].slice(0, MAX)
  try {
    localStorage.setItem(KEY, JSON.stringify(list))
  } catch { /* not remembered; nothing else depends on it */ }
}
