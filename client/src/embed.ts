/**
 * /embed.js (and /v/<version>/embed.js): registers `<quire-editor>` on load,
 * for pages without a build step (docs/embedding.md). Its elements talk to
 * the server this script came from (under its path prefix, if mounted
 * under one) unless they say `server`. The module and
 * its styles come from the Quire server (served with CORS `*`).
 */
import { defineQuireEditor } from '@quire/editor'

/**
 * The server this script came from, with the path prefix a host app may
 * mount Quire under (docs/server-library.md): what precedes `/embed.js` or
 * `/v/<version>/embed.js`.
 */
function scriptServer (): string {
  const here = new URL(import.meta.url)
  return here.origin + here.pathname.replace(/(\/v\/[^/]+)?\/embed\.js$/, '')
}

defineQuireEditor('quire-editor', { server: scriptServer() })
