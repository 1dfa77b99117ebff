/**
 * Parsing untrusted content with a deadline: one worker thread
 * (parse-worker.ts) parses one body at a time; a body still parsing at
 * CONTENT_PARSE_TIMEOUT_MS has its worker terminated (the next request
 * starts a new one) and is refused with ParseTimeout. The result is the
 * document as ProseMirror JSON, which formats.ts's `contentToUpdate` takes
 * as format `json` (cheap, linear: nothing there to stop).
 */
import { Worker } from 'node:worker_threads'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ContentError, type TextFormat } from './convert.js'
import type { ParseReply } from './parse-worker.js'

/** Parsing took longer than its deadline: refused, nothing changed. */
export class ParseTimeout extends ContentError {}

interface Job {
  id: number
  content: string | Uint8Array
  format: TextFormat
  resolve: (json: string) => void
  reject: (err: Error) => void
}

export class ContentParser {
  private worker: Worker | null = null
  /** The worker has loaded its modules (a deadline does not count its start). */
  private ready = false
  private readonly queue: Job[] = []
  private current: { job: Job, timer: NodeJS.Timeout } | null = null
  private nextId = 1

  constructor (private readonly timeoutMs: number) {}

  /** `content` in `format` as ProseMirror JSON; rejects with ContentError (ParseTimeout past the deadline). */
  parse (content: string | Uint8Array, format: TextFormat): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, content, format, resolve, reject })
      this.next()
    })
  }

  async close (): Promise<void> {
    const worker = this.worker
    this.worker = null
    for (const job of this.queue.splice(0)) job.reject(new Error('content parser closed'))
    if (this.current) {
      clearTimeout(this.current.timer)
      this.current.job.reject(new Error('content parser closed'))
      this.current = null
    }
    await worker?.terminate()
  }

  private next (): void {
    if (this.current !== null || this.queue.length === 0) return
    if (this.worker === null) this.worker = this.start()
    if (!this.ready) return
    const worker = this.worker
    const job = this.queue.shift()!
    const timer = setTimeout(() => {
      // Stuck in one parse: the only way to stop it is to end its thread.
      this.current = null
      this.worker = null
      void worker.terminate()
      job.reject(new ParseTimeout(`content took longer than ${this.timeoutMs} ms to parse`))
      this.next()
    }, this.timeoutMs)
    this.current = { job, timer }
    worker.postMessage({ id: job.id, content: job.content, format: job.format })
  }

  private start (): Worker {
    this.ready = false
    const worker = new Worker(workerFile())
    worker.unref()
    worker.on('message', (reply: ParseReply) => {
      if ('ready' in reply) {
        if (this.worker !== worker) return
        this.ready = true
        return this.next()
      }
      const current = this.current
      if (current === null || current.job.id !== reply.id || this.worker !== worker) return
      clearTimeout(current.timer)
      this.current = null
      if ('json' in reply) current.job.resolve(reply.json)
      else if ('refused' in reply) current.job.reject(new ContentError(reply.refused))
      else current.job.reject(new Error(`content parser failed: ${reply.failed}`))
      this.next()
    })
    worker.on('error', (err) => this.lost(worker, err))
    worker.on('exit', (code) => this.lost(worker, new Error(`content parser exited with code ${code}`)))
    return worker
  }

  /** The worker died on its own (not at a deadline): fail its job, start afresh for the rest. */
  private lost (worker: Worker, err: Error): void {
    if (this.worker !== worker) return
    this.worker = null
    const current = this.current
    this.current = null
    if (current) {
      clearTimeout(current.timer)
      current.job.reject(err)
    }
    // One that died while loading would die again: fail what waits; the next parse tries anew.
    if (!this.ready) for (const job of this.queue.splice(0)) job.reject(err)
    this.next()
  }
}

/**
 * The worker's compiled file: beside this one in dist/; when this module
 * runs from its TypeScript source (tests in-process), the built one in
 * dist/ (`npm run build`), since a worker thread cannot load TypeScript.
 */
function workerFile (): URL {
  const beside = new URL('./parse-worker.js', import.meta.url)
  if (existsSync(fileURLToPath(beside))) return beside
  return new URL('../../dist/server/content/parse-worker.js', import.meta.url)
}
