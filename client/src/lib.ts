/**
 * /lib/quire-editor.js (and /v/<version>/lib/quire-editor.js): @quire/editor
 * as one ES module with its dependencies inside, for pages without a build
 * step (docs/embedding.md, "Without a build step").
 *
 *   import { mountEditor } from 'https://quire.example.com/v/0.1.0/lib/quire-editor.js'
 *   const { editor, provider, destroy } = mountEditor(el, { server, doc, user })
 *   await clearUserData({ server, token })   // on your sign-out page
 */
export * from '@quire/editor'
