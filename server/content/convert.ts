/**
 * Documents as ProseMirror nodes, to and from the formats people exchange:
 * HTML (parsed with happy-dom, Tiptap's own server path: no browser, no
 * script runs), Markdown (Tiptap's MarkdownManager over marked), plain text
 * and ProseMirror JSON. Every input is checked against the editor's schema;
 * what does not fit it throws ContentError with a one-line reason.
 */
import { generateHTML, generateJSON } from '@tiptap/html/server'
import { Node as PMNode } from '@tiptap/pm/model'
import type { JSONContent } from '@tiptap/core'
import { extensions, markdown, schema } from './schema.js'

/** Input that cannot become a document of the editor's schema; the message is one line, for the API's answer. */
export class ContentError extends Error {}

/** The text formats (everything but a Yjs update). */
export type TextFormat = 'json' | 'html' | 'markdown' | 'text'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Request bodies are UTF-8 text; NUL never occurs in HTML, Markdown or JSON a person wrote. */
export function decodeText (content: string | Uint8Array): string {
  let text: string
  try {
    text = typeof content === 'string' ? content : utf8.decode(content)
  } catch {
    throw new ContentError('body is not valid UTF-8 text')
  }
  if (text.includes('\u0000')) throw new ContentError('body contains NUL characters: not text')
  return text.replace(/^\uFEFF/, '')
}

/** Parse `text` in `format` into a document node of the editor's schema. */
export function parseDocument (text: string, format: TextFormat): PMNode {
  switch (format) {
    case 'json': return fromJSON(parseJSON(text))
    case 'html': return fromJSON(generateJSON(text, extensions) as JSONContent)
    case 'markdown': return fromJSON(parseMarkdown(text))
    case 'text': return fromPlainText(text)
  }
}

/** Render a document node in `format`. */
export function serializeDocument (doc: PMNode, format: TextFormat): string {
  switch (format) {
    case 'json': return JSON.stringify(doc.toJSON())
    case 'html': return generateHTML(doc.toJSON() as JSONContent, extensions)
    case 'markdown': return doc.childCount === 0 ? '' : markdown.serialize(doc.toJSON() as JSONContent)
    case 'text': return plainText(doc)
  }
}

/** An empty document (what a document that holds nothing reads as). */
export function emptyDocument (): PMNode {
  return schema.topNodeType.create()
}

function parseJSON (text: string): JSONContent {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new ContentError(`body is not JSON: ${oneLine((err as Error).message)}`)
  }
  if (typeof value !== 'object' || value === null || (value as { type?: unknown }).type !== 'doc') {
    throw new ContentError('JSON content must be a ProseMirror document: {"type":"doc","content":[...]}')
  }
  return value as JSONContent
}

function parseMarkdown (text: string): JSONContent {
  try {
    // The editor has no tables, and Tiptap's Markdown parser would drop one whole, text and all.
    if (hasTable(markdown.instance.lexer(text))) throw new ContentError('Markdown tables are not supported: the editor has no tables')
    return markdown.parse(text)
  } catch (err) {
    if (err instanceof ContentError) throw err
    throw new ContentError(`Markdown could not be parsed: ${oneLine((err as Error).message)}`)
  }
}

interface LexedToken { type?: string, tokens?: LexedToken[], items?: LexedToken[] }

function hasTable (tokens: LexedToken[]): boolean {
  return tokens.some((t) => t.type === 'table' || hasTable(t.tokens ?? []) || hasTable(t.items ?? []))
}

function fromJSON (json: JSONContent): PMNode {
  // Nothing at all is a document too (the schema wants a block: the editor shows an empty paragraph).
  if (json.type === 'doc' && (json.content === undefined || json.content.length === 0)) return emptyDocument()
  try {
    return checked(json)
  } catch (err) {
    // Parsers may leave text straight in a list item or a quote (Markdown's "- [ ] task" does);
    // the editor would hold it in a paragraph there, so try that before refusing.
    try {
      return checked(wrapStrayInline(json))
    } catch {
      throw new ContentError(`content does not fit the editor's schema: ${oneLine((err as Error).message)}`)
    }
  }
}

function checked (json: JSONContent): PMNode {
  const doc = PMNode.fromJSON(schema, json)
  doc.check()
  return doc
}

/** Runs of inline nodes inside a node that holds blocks, each wrapped in a paragraph. */
function wrapStrayInline (json: JSONContent): JSONContent {
  if (json.content === undefined) return json
  const type = json.type === undefined ? undefined : schema.nodes[json.type]
  const content = json.content.map(wrapStrayInline)
  if (type === undefined || type.inlineContent || type.isLeaf) return { ...json, content }
  const isInline = (child: JSONContent): boolean => child.type === 'text' || schema.nodes[child.type ?? '']?.isInline === true
  const blocks: JSONContent[] = []
  let wrapper: JSONContent | null = null
  for (const child of content) {
    if (!isInline(child)) {
      blocks.push(child)
      wrapper = null
    } else if (wrapper === null) {
      wrapper = { type: 'paragraph', content: [child] }
      blocks.push(wrapper)
    } else {
      wrapper.content!.push(child)
    }
  }
  return { ...json, content: blocks }
}

/** Paragraphs split on blank lines; a single line break inside one is a hard break. */
function fromPlainText (text: string): PMNode {
  const paragraphs = text.replace(/\r\n?/g, '\n').split(/\n{2,}/).filter((p) => p.trim() !== '')
  return schema.topNodeType.create(null, paragraphs.map((p) => {
    const lines = p.split('\n')
    const inline: PMNode[] = []
    lines.forEach((line, i) => {
      if (i > 0) inline.push(schema.nodes.hardBreak.create())
      if (line !== '') inline.push(schema.text(line))
    })
    return schema.nodes.paragraph.create(null, inline)
  }))
}

/** Each text block's text, hard breaks as line breaks, blocks separated by a blank line. */
function plainText (doc: PMNode): string {
  const blocks: string[] = []
  doc.descendants((node) => {
    if (!node.isTextblock) return true
    blocks.push(node.textBetween(0, node.content.size, undefined, (leaf) => leaf.type.name === 'hardBreak' ? '\n' : ''))
    return false
  })
  return blocks.join('\n\n')
}

function oneLine (message: string): string {
  const line = message.split('\n')[0].trim()
  return line.length > 200 ? line.slice(0, 200) + '…' : line
}
