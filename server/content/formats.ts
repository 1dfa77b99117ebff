/**
 * A Yjs document's content in the formats of the content API, and the other
 * way: content in any of them as the Yjs update that makes the change. The
 * document lives in the fragment the editor binds to (`default`), under the
 * editor's schema (common/editor-schema.ts).
 *
 * Reads work on a copy: y-tiptap deletes Yjs elements that do not fit the
 * schema while it reads them, and the live document is not ours to change.
 * Writes are computed on a copy too and returned as the difference to the
 * document (y-tiptap's `updateYFragment`, the editor's own diff): a replace
 * keeps every unchanged paragraph, so live editors see a change, not a reset,
 * and their carets stay where the text stayed.
 */
import * as Y from 'yjs'
import { Fragment, type Node as PMNode } from '@tiptap/pm/model'
import { updateYFragment, yXmlFragmentToProseMirrorRootNode } from '@tiptap/y-tiptap'
import { EDITOR_FRAGMENT } from '../../common/editor-schema.js'
import { schema } from './schema.js'
import { ContentError, decodeText, parseDocument, serializeDocument, type TextFormat } from './convert.js'

export { ContentError }

export type ContentFormat = 'json' | 'html' | 'markdown' | 'text' | 'yjs'
export type WriteMode = 'replace' | 'append' | 'prepend'

export const CONTENT_FORMATS: readonly ContentFormat[] = ['json', 'html', 'markdown', 'text', 'yjs']

/** The media type each format is served (and accepted) as. */
export const CONTENT_TYPES: Record<ContentFormat, string> = {
  json: 'application/json',
  html: 'text/html; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  yjs: 'application/octet-stream',
}

export interface ContentOptions {
  /**
   * The Yjs client id the change is written under (default: a random one).
   * The same content written under the same id makes the same Yjs items, so
   * two instances that race to seed one new document make one copy of it.
   */
  clientId?: number
}

/** The document in `format` (fragment `default`). */
export function renderContent (ydoc: Y.Doc, format: ContentFormat): { body: string | Uint8Array, contentType: string } {
  if (format === 'yjs') return { body: Y.encodeStateAsUpdate(ydoc), contentType: CONTENT_TYPES.yjs }
  const doc = readDocument(copyOf(ydoc))
  return { body: serializeDocument(format === 'json' ? doc : withoutTrailingEmptyParagraphs(doc), format), contentType: CONTENT_TYPES[format] }
}

/**
 * The editor keeps an empty paragraph after a last list, quote or code
 * block (Tiptap's trailing node: somewhere to put the cursor). It is not
 * content: HTML, Markdown and text leave it out; JSON and Yjs show the
 * document as it is.
 */
function withoutTrailingEmptyParagraphs (doc: PMNode): PMNode {
  let end = doc.childCount
  while (end > 0 && doc.child(end - 1).type.name === 'paragraph' && doc.child(end - 1).content.size === 0) end--
  return end === doc.childCount ? doc : doc.copy(doc.content.cut(0, doc.content.size - sizeAfter(doc, end)))
}

function sizeAfter (doc: PMNode, index: number): number {
  let size = 0
  for (let i = index; i < doc.childCount; i++) size += doc.child(i).nodeSize
  return size
}

/**
 * The Yjs update that, applied to `ydoc`, replaces its content with
 * `content` (or adds it at the end or the start). An empty update when it
 * changes nothing. Throws ContentError for input that is not a document of
 * the editor's schema.
 */
export function contentToUpdate (ydoc: Y.Doc, content: string | Uint8Array, format: ContentFormat, mode: WriteMode, options: ContentOptions = {}): Uint8Array {
  const incoming = format === 'yjs' ? documentOfUpdate(content) : parseDocument(decodeText(content), format as TextFormat)
  const copy = copyOf(ydoc, options.clientId)
  const fragment = copy.getXmlFragment(EDITOR_FRAGMENT)
  let target = incoming
  if (mode !== 'replace') {
    const current = readDocument(copy)
    const blocks = mode === 'append' ? current.content.append(incoming.content) : incoming.content.append(current.content)
    target = schema.topNodeType.create(null, Fragment.from(blocks))
  }
  try {
    if (target.childCount > 0) target.check()
  } catch (err) {
    throw new ContentError(`content does not fit the editor's schema: ${(err as Error).message.split('\n')[0]}`)
  }
  copy.transact(() => updateYFragment(copy, fragment, target, { mapping: new Map(), isOMark: new Map() }))
  return Y.encodeStateAsUpdate(copy, Y.encodeStateVector(ydoc))
}

/** The editor's document in `ydoc` (read it from a copy: reading may change what it reads). */
function readDocument (ydoc: Y.Doc): PMNode {
  return yXmlFragmentToProseMirrorRootNode(ydoc.getXmlFragment(EDITOR_FRAGMENT), schema)
}

function copyOf (ydoc: Y.Doc, clientId?: number): Y.Doc {
  // gc off: the copy must not drop deleted items the original still holds, or its diff would carry their removal.
  const copy = new Y.Doc({ gc: false })
  if (clientId !== undefined) copy.clientID = clientId
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(ydoc))
  return copy
}

/** A Yjs update (a whole document, such as `GET ?format=yjs` answers) as the editor's document. */
function documentOfUpdate (content: string | Uint8Array): PMNode {
  if (typeof content === 'string') throw new ContentError('a Yjs update is binary: send it as application/octet-stream')
  const doc = new Y.Doc()
  try {
    Y.decodeUpdate(content)
    Y.applyUpdate(doc, content)
  } catch {
    throw new ContentError('body is not a valid Yjs update')
  }
  if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) {
    throw new ContentError('the Yjs update depends on changes it does not contain: send a whole document (GET ?format=yjs)')
  }
  return readDocument(doc)
}
