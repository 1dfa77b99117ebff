/** After tsc: dist/styles.css, the editor's stylesheet as a file (`@quire/editor/styles.css`), from the module mountEditor injects. */
import { writeFileSync } from 'node:fs'
import { EDITOR_CSS } from './dist/styles-css.js'

writeFileSync(new URL('./dist/styles.css', import.meta.url), EDITOR_CSS.trimStart())
