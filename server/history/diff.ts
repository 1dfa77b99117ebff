/**
 * What changed between two versions (docs/history.md, "Diff"): a word-level
 * diff of their text content (jsdiff's Myers diff), as JSON, as plain text
 * with wdiff's markers, or as HTML with <ins> and <del>.
 *
 * A diff costs time in proportion to the texts and their differences, so it
 * has a budget: past DIFF_TIMEOUT_MS, the answer is "everything removed,
 * everything added" (still true, only coarser).
 */
import { diffWordsWithSpace } from 'diff'

/** Longest a diff may compute before it falls back to the coarse answer. */
export const DIFF_TIMEOUT_MS = 1_000

export type DiffFormat = 'json' | 'text' | 'html'
export const DIFF_FORMATS: readonly DiffFormat[] = ['json', 'text', 'html']

export interface Change {
  /** '=' kept, '+' added, '-' removed. */
  op: '=' | '+' | '-'
  text: string
}

export function diffTexts (before: string, after: string): Change[] {
  const parts = diffWordsWithSpace(before, after, { timeout: DIFF_TIMEOUT_MS })
  if (parts === undefined) {
    const coarse: Change[] = []
    if (before !== '') coarse.push({ op: '-', text: before })
    if (after !== '') coarse.push({ op: '+', text: after })
    return coarse
  }
  return parts.filter((p) => p.value !== '').map((p) => ({ op: p.added ? '+' : p.removed ? '-' : '=', text: p.value }))
}

export interface RenderedDiff { body: string, contentType: string }

export function renderDiff (changes: Change[], format: DiffFormat, ends: { from: string, to: string }): RenderedDiff {
  if (format === 'text') {
    const body = changes.map((c) => c.op === '+' ? `{+${c.text}+}` : c.op === '-' ? `[-${c.text}-]` : c.text).join('')
    return { body, contentType: 'text/plain; charset=utf-8' }
  }
  if (format === 'html') {
    const html = (text: string): string => escapeHtml(text).replace(/\n/g, '<br>')
    const body = changes.map((c) => c.op === '+' ? `<ins>${html(c.text)}</ins>` : c.op === '-' ? `<del>${html(c.text)}</del>` : html(c.text)).join('')
    return { body, contentType: 'text/html; charset=utf-8' }
  }
  let added = 0
  let removed = 0
  for (const c of changes) {
    if (c.op === '+') added += c.text.length
    if (c.op === '-') removed += c.text.length
  }
  return { body: JSON.stringify({ ...ends, added, removed, changes }) + '\n', contentType: 'application/json' }
}

function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
}
