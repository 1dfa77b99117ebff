/**
 * server/content/formats.ts on its own: conversions on the editor's schema,
 * changes as small diffs, reads that never touch the document they read,
 * and creations that merge into one copy when they race.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ContentError, contentToUpdate, renderContent } from '../server/content/formats.js'
import { creationClientId } from '../server/http/documents.js'

const docWith = (content: string, format: 'html' | 'markdown' = 'html'): Y.Doc => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, contentToUpdate(doc, content, format, 'replace'))
  return doc
}
const html = (doc: Y.Doc): string => renderContent(doc, 'html').body as string

describe('content formats', () => {
  it('round-trips HTML and Markdown through the Yjs document', () => {
    const doc = docWith('## Plan\n\n- **bold** item\n- ~~struck~~\n\n---\n\nline one  \nline two', 'markdown')
    expect(html(doc)).toBe('<h2>Plan</h2><ul><li><p><strong>bold</strong> item</p></li><li><p><s>struck</s></p></li></ul><hr><p>line one<br>line two</p>')
    expect(renderContent(doc, 'markdown').body).toBe('## Plan\n\n- **bold** item\n- ~~struck~~\n\n---\n\nline one  \nline two')
  })

  it("the editor's empty last paragraph is left out of HTML, Markdown and text, kept in JSON", () => {
    const doc = docWith('<ul><li><p>item</p></li></ul><p></p><p></p>')
    expect(html(doc)).toBe('<ul><li><p>item</p></li></ul>')
    expect(renderContent(doc, 'markdown').body).toBe('- item')
    expect(renderContent(doc, 'text').body).toBe('item')
    expect((JSON.parse(renderContent(doc, 'json').body as string) as { content: unknown[] }).content).toHaveLength(3)
  })

  it('Markdown the schema has no node for still fits: a task list becomes a plain list', () => {
    const doc = docWith('- [ ] open\n- [x] done', 'markdown')
    expect(html(doc)).toBe('<ul><li><p>open</p></li><li><p>done</p></li></ul>')
  })

  it('a replace keeps what did not change: the update carries only the difference', () => {
    const paragraphs = Array.from({ length: 200 }, (_, i) => `<p>paragraph number ${i} with some words in it</p>`).join('')
    const doc = docWith(paragraphs)
    const whole = Y.encodeStateAsUpdate(doc).length
    const update = contentToUpdate(doc, paragraphs + '<p>one more</p>', 'html', 'replace')
    expect(update.length).toBeLessThan(whole / 20)
    Y.applyUpdate(doc, update)
    expect(html(doc).endsWith('<p>one more</p>')).toBe(true)
    // Nothing to change: an empty update.
    expect(Y.decodeUpdate(contentToUpdate(doc, html(doc), 'html', 'replace')).structs).toEqual([])
  })

  it('reading never changes the document it reads, even where it holds what the schema refuses', () => {
    const doc = new Y.Doc()
    const fragment = doc.getXmlFragment('default')
    const bogus = new Y.XmlElement('marquee')
    bogus.insert(0, [new Y.XmlText('old browser')])
    const para = new Y.XmlElement('paragraph')
    para.insert(0, [new Y.XmlText('fine')])
    fragment.insert(0, [bogus, para])
    const before = Y.encodeStateAsUpdate(doc)
    expect(html(doc)).toBe('<p>fine</p>')
    expect(Buffer.compare(Y.encodeStateAsUpdate(doc), before)).toBe(0)
    expect(fragment.length).toBe(2)
  })

  it('the same creation under the same fixed client id makes the same items: applied twice, the content is there once', () => {
    const content = JSON.stringify({ type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'seed' }] }] })
    const clientId = creationClientId('doc', content)
    const first = contentToUpdate(new Y.Doc(), content, 'json', 'replace', { clientId })
    const second = contentToUpdate(new Y.Doc(), content, 'json', 'replace', { clientId })
    expect(Buffer.compare(first, second)).toBe(0)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, first)
    Y.applyUpdate(doc, second)
    expect(html(doc)).toBe('<p>seed</p>')
    // Other content, another id.
    expect(creationClientId('doc', content.replace('seed', 'other'))).not.toBe(clientId)
  })

  it('refuses what is not a document of the schema with a ContentError', () => {
    const doc = new Y.Doc()
    expect(() => contentToUpdate(doc, '{"type":"paragraph"}', 'json', 'replace')).toThrow(ContentError)
    expect(() => contentToUpdate(doc, new Uint8Array([0xff, 0xfe]), 'html', 'replace')).toThrow('body is not valid UTF-8 text')
    expect(() => contentToUpdate(doc, 'text', 'yjs', 'replace')).toThrow(ContentError)
    // Tiptap's Markdown parser would drop a table whole, text and all: refused instead.
    expect(() => contentToUpdate(doc, 'before\n\n| a | b |\n|---|---|\n| 1 | 2 |', 'markdown', 'replace')).toThrow('Markdown tables are not supported: the editor has no tables')
    expect(() => contentToUpdate(doc, '- item\n\n  | a |\n  |---|\n  | 1 |', 'markdown', 'replace')).toThrow('Markdown tables are not supported')
  })
})
