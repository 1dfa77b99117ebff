/**
 * The web app build (dist/client: index.html for "/" and "/d/*", embed.html
 * for "/embed/*") and the dev server of `npm run dev`. The two ES modules with
 * fixed names (/embed.js and /lib/quire-editor.js) are library builds made
 * by scripts/build-client.mjs with the same shared settings.
 *
 * The build uses the packages as a user gets them (their dist/, built
 * first); the dev server reads their sources, so an edit in
 * client/editor/src reloads the page without a package build.
 */
import { defineConfig, type Plugin } from 'vite'
import { fileURLToPath } from 'node:url'
import { outDir, shared } from './vite.shared.mjs'

/** In dev, serve the same routes the Quire server serves in production. */
function quireRoutes (): Plugin {
  return {
    name: 'quire-routes',
    configureServer (server) {
      server.middlewares.use((req, _res, next) => {
        const url = req.url ?? '/'
        if (url.startsWith('/embed/')) req.url = '/embed.html'
        else if (url.startsWith('/embed.js')) req.url = '/src/embed.ts'
        else if (url.startsWith('/lib/quire-editor.js')) req.url = '/src/lib.ts'
        next()
      })
    },
  }
}

const quireServer = process.env.QUIRE_SERVER_HTTP ?? 'http://127.0.0.1:1234'

const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url))
/** `npm run dev` only: the workspace packages from their sources (exact names, so subpaths keep their own entry). */
const packageSources = [
  { find: /^@quire\/common$/, replacement: source('../common/index.ts') },
  { find: /^@quire\/common\/editor-schema$/, replacement: source('../common/editor-schema.ts') },
  { find: /^@quire\/provider$/, replacement: source('provider/src/index.ts') },
  { find: /^@quire\/editor$/, replacement: source('editor/src/index.ts') },
]

export default defineConfig(({ command }) => ({
  ...shared,
  resolve: { ...shared.resolve, alias: command === 'serve' ? packageSources : [] },
  plugins: [quireRoutes()],
  appType: 'spa',
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: true,
    // The editor (ProseMirror, Tiptap, Yjs) is one ~530 kB chunk, ~170 kB gzipped.
    chunkSizeWarningLimit: 1024,
    rolldownOptions: {
      input: {
        index: fileURLToPath(new URL('index.html', import.meta.url)),
        embed: fileURLToPath(new URL('embed.html', import.meta.url)),
      },
    },
  },
  server: {
    proxy: {
      '/api': quireServer,
      '/healthz': quireServer,
      '/readyz': quireServer,
      '/metrics': quireServer,
    },
  },
}))
