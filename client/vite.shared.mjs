/** Vite settings shared by the app build (vite.config.ts) and the library builds (scripts/build-client.mjs). */
import { fileURLToPath } from 'node:url'

export const clientRoot = fileURLToPath(new URL('.', import.meta.url))
export const outDir = fileURLToPath(new URL('../dist/client', import.meta.url))

/** One copy of yjs and its kin in every bundle, whatever imports them: two copies of Yjs break its type checks (docs/embedding.md). */
export const shared = {
  root: clientRoot,
  resolve: { dedupe: ['yjs', 'y-protocols', 'lib0', '@tiptap/pm', '@tiptap/core'] },
}
