/**
 * /embed.js (and /v/<version>/embed.js): registers `<quire-editor>` on load,
 * for pages without a build step (docs/embedding.md). Its elements talk to
 * the server this script came from unless they say `server`. The module and
 * its styles come from the Quire server (served with CORS `*`).
 */
import { defineQuireEditor } from '@quire/editor'

defineQuireEditor('quire-editor', { server: new URL(import.meta.url).origin })
