/**
 * The web app build (dist/client: index.html for "/" and "/d/*", embed.html
 * for "/embed/*") and the dev server of `npm run dev`. The two ES modules with
 * fixed names (/embed.js and /lib/quire-editor.js) are library builds made
 * by scripts/build-client.mjs with the same shared settings.
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
        else if (url.startsWith('/embed.js')) req.url = '/src/embed-element.ts'
        else if (url.startsWith('/lib/quire-editor.js')) req.url = '/src/lib.ts'
        next()
      })
    },
  }
}

const quireServer = process.env.QUIRE_SERVER_HTTP ?? 'http://127.0.0.1:1234'

export default defineConfig({
  ...shared,
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
})
