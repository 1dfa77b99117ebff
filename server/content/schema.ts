/**
 * The editor's schema on the server, built once: the ProseMirror schema of
 * common/editor-schema.ts and the Markdown manager over the same
 * extensions, so every conversion speaks exactly what the editor speaks.
 */
import { getSchema, type Extensions } from '@tiptap/core'
import type { Schema } from '@tiptap/pm/model'
import { MarkdownManager } from '@tiptap/markdown'
import { editorSchemaExtensions } from '../../common/editor-schema.js'

export const extensions: Extensions = editorSchemaExtensions()
export const schema: Schema = getSchema(extensions)
export const markdown = new MarkdownManager({ extensions })
