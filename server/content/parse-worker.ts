/**
 * The worker thread that parses HTML, Markdown, text and ProseMirror JSON
 * for the content API (server/content/parser.ts runs it), so that input
 * built to be slow to parse can be stopped at its deadline without
 * stopping the instance. Answers each request with the document as
 * ProseMirror JSON, or with the one-line reason it is refused.
 */
import { parentPort } from 'node:worker_threads'
import { ContentError, decodeText, parseDocument, type TextFormat } from './convert.js'

export interface ParseRequest { id: number, content: string | Uint8Array, format: TextFormat }
export type ParseReply = { id: number, json: string } | { id: number, refused: string } | { id: number, failed: string } | { ready: true }

parentPort?.on('message', (req: ParseRequest) => {
  let reply: ParseReply
  try {
    reply = { id: req.id, json: JSON.stringify(parseDocument(decodeText(req.content), req.format).toJSON()) }
  } catch (err) {
    reply = err instanceof ContentError ? { id: req.id, refused: err.message } : { id: req.id, failed: String(err) }
  }
  parentPort?.postMessage(reply)
})

// Loaded (Tiptap, happy-dom, marked): deadlines count from here on.
parentPort?.postMessage({ ready: true } satisfies ParseReply)
