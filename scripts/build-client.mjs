/**
 * `npm run build:client` (after `build:packages`: it uses @quire/editor's
 * dist): type-check the app, then build
 *   dist/client/              the web app (index.html, embed.html, assets/)
 *   dist/client/embed.js      the <quire-editor> element, registered on load (ES module)
 *   dist/client/lib/quire-editor.js  @quire/editor as one ES module
 *   dist/client/version.json  the version of @quire/editor these were built from
 * The two modules keep fixed names (other sites load them by URL, also under
 * /v/<version>/: docs/embedding.md, "Without a build step"), carry their
 * dependencies inside and share one hashed chunk with the editor itself.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build, mergeConfig } from 'vite'
import { clientRoot, outDir, shared } from '../client/vite.shared.mjs'

const tsc = (project, ...args) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project, ...args], { stdio: 'inherit' })

tsc('client/tsconfig.json')
await build({ configFile: join(clientRoot, 'vite.config.ts') })

// One build for both modules: a page that uses the element and the library
// loads their shared code (and yjs) once, from a hashed chunk in assets/.
await build(mergeConfig(shared, {
  configFile: false,
  // Library builds keep `process.env.NODE_ENV` as written; these modules run in browsers as they are.
  define: { 'process.env.NODE_ENV': '"production"' },
  build: {
    outDir,
    emptyOutDir: false,
    copyPublicDir: false,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
    lib: {
      entry: { embed: join(clientRoot, 'src/embed.ts'), 'lib/quire-editor': join(clientRoot, 'src/lib.ts') },
      formats: ['es'],
      fileName: (_format, name) => `${name}.js`,
    },
    rolldownOptions: {
      output: {
        chunkFileNames: 'assets/[name]-[hash].js',
        // Lib mode keeps whitespace for the sake of bundlers; these files go to browsers as they are.
        minify: true,
      },
    },
  },
}))

// The server serves these modules under /v/<this version>/ too (server/http/static.ts).
const { version } = JSON.parse(readFileSync(join(clientRoot, 'editor', 'package.json'), 'utf8'))
writeFileSync(join(outDir, 'version.json'), JSON.stringify({ version }) + '\n')
