/**
 * `npm run build:client`: type-check the client, then build
 *   dist/client/              the web app (index.html, embed.html, assets/)
 *   dist/client/embed.js      the <quire-editor> element, one self-contained ES module
 *   dist/client/lib/          mountEditor as an ES module + type declarations
 * The two modules keep fixed names: other sites load them by URL.
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build, mergeConfig } from 'vite'
import { clientRoot, outDir, shared } from '../client/vite.shared.mjs'

const tsc = (project, ...args) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project, ...args], { stdio: 'inherit' })

tsc('client/tsconfig.json')
await build({ configFile: join(clientRoot, 'vite.config.ts') })

for (const { entry, file, dir } of [
  { entry: 'src/embed-element.ts', file: 'embed.js', dir: outDir },
  { entry: 'src/lib.ts', file: 'quire-editor.js', dir: join(outDir, 'lib') },
]) {
  await build(mergeConfig(shared, {
    configFile: false,
    // Library builds keep `process.env.NODE_ENV` as written; these modules run in browsers as they are.
    define: { 'process.env.NODE_ENV': '"production"' },
    build: {
      outDir: dir,
      emptyOutDir: false,
      copyPublicDir: false,
      sourcemap: true,
      // Lib mode keeps whitespace for the sake of bundlers; these files go to browsers as they are.
      rolldownOptions: { output: { minify: true } },
      chunkSizeWarningLimit: 1024,
      lib: { entry: join(clientRoot, entry), formats: ['es'], fileName: () => file },
    },
  }))
}

tsc('client/tsconfig.lib.json')
writeFileSync(join(outDir, 'lib', 'quire-editor.d.ts'), "export * from './types/client/src/lib.js'\n")
