/**
 * The editor's own styles, everything under .quire so that a page embedding
 * it (light DOM) keeps its styles; in <quire-editor> they live in the shadow
 * root. Includes ProseMirror's required rules (Tiptap's injectCSS is off, as
 * it would write into the host page's <head>).
 */
// A module rather than a .css file so that tsc, Vite and Node all read it as
// it is; the package build writes it to dist/styles.css as well
// (docs/embedding.md, "Theming").
export const EDITOR_CSS = `
/*
 * The theme's defaults, at the lowest precedence: on the page's root
 * (:where() weighs nothing) and on <quire-editor>'s host (which the page's
 * own rules override), so a page sets any of them on .quire, on an
 * ancestor or on quire-editor (docs/embedding.md, "Theming").
 */
:where(:root), :host {
  --quire-text: #1f2328;
  --quire-muted: #656d76;
  --quire-border: #e3e5e8;
  --quire-surface: #ffffff;
  --quire-subtle: #f6f7f9;
  --quire-accent: #3b5bdb;
  --quire-ok: #2b8a3e;
  --quire-warn: #e67700;
  --quire-bad: #c92a2a;
  --quire-measure: 44rem;
}
.quire {
  box-sizing: border-box;
  display: flex;
  flex-direction: column;
  height: 100%;
  min-height: 0;
  background: var(--quire-surface);
  color: var(--quire-text);
  font: 16px/1.5 ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  -webkit-font-smoothing: antialiased;
  text-align: left;
}
.quire *, .quire *::before, .quire *::after { box-sizing: border-box; }

/* ---- header: status, typing, presence ---------------------------------- */
.quire-header {
  display: flex;
  align-items: center;
  gap: 12px;
  /* Line up with the text column when there is room. */
  padding: 8px max(16px, calc((100% - var(--quire-measure)) / 2));
  border-bottom: 1px solid var(--quire-border);
  min-height: 48px;
  flex-wrap: wrap;
}
.quire-status {
  display: inline-flex;
  align-items: center;
  gap: 6px;
  font-size: 13px;
  color: var(--quire-muted);
  white-space: nowrap;
}
.quire-status-dot {
  width: 8px;
  height: 8px;
  border-radius: 50%;
  background: var(--quire-warn);
  flex: none;
}
.quire-status[data-status="connected"] .quire-status-dot { background: var(--quire-ok); }
.quire-status[data-status="connected"][data-saved="false"] .quire-status-dot { background: var(--quire-accent); }
.quire-status[data-status="offline"] .quire-status-dot { background: var(--quire-bad); }
.quire-status-hint {
  font-size: 11px;
  padding: 1px 6px;
  border: 1px solid var(--quire-border);
  border-radius: 8px;
}
.quire-status-hint[hidden] { display: none; }
.quire-typing {
  flex: 1 1 auto;
  min-width: 0;
  font-size: 13px;
  color: var(--quire-muted);
  font-style: italic;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}
.quire-presence {
  display: flex;
  align-items: center;
  gap: 4px;
  margin: 0 0 0 auto;
  padding: 0;
  list-style: none;
}
.quire-person {
  display: inline-flex;
  align-items: center;
  gap: 6px;
  padding: 2px 8px 2px 2px;
  border-radius: 999px;
  font-size: 13px;
  background: var(--quire-subtle);
  max-width: 12rem;
}
.quire-person-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.quire-person-you { color: var(--quire-muted); white-space: nowrap; }
.quire-avatar {
  display: inline-grid;
  place-items: center;
  width: 26px;
  height: 26px;
  border-radius: 50%;
  color: #fff;
  font-size: 11px;
  font-weight: 700;
  line-height: 1;
  letter-spacing: .02em;
  flex: none;
}
.quire-person[data-self="true"] .quire-avatar { box-shadow: 0 0 0 2px var(--quire-surface), 0 0 0 3.5px var(--quire-user, var(--quire-muted)); }
.quire-problem {
  margin: 0;
  padding: 10px 16px;
  background: #fff5f5;
  color: var(--quire-bad);
  border-bottom: 1px solid #ffc9c9;
  font-size: 14px;
}
.quire-problem[hidden] { display: none; }

/* ---- toolbar ------------------------------------------------------------ */
.quire-toolbar {
  display: flex;
  gap: 4px;
  padding: 6px max(12px, calc((100% - var(--quire-measure)) / 2 - 8px));
  border-bottom: 1px solid var(--quire-border);
  background: var(--quire-surface);
  overflow-x: auto;
  scrollbar-width: none;
  flex: none;
}
.quire-toolbar::-webkit-scrollbar { display: none; }
.quire-toolbar-group { display: flex; gap: 2px; padding-right: 4px; margin-right: 2px; border-right: 1px solid var(--quire-border); }
.quire-toolbar-group:last-child { border-right: 0; }
.quire-tool {
  display: inline-grid;
  place-items: center;
  min-width: 34px;
  height: 34px;
  padding: 0 6px;
  border: 0;
  border-radius: 6px;
  background: transparent;
  color: var(--quire-text);
  font: inherit;
  cursor: pointer;
}
.quire-tool:hover:not(:disabled) { background: var(--quire-subtle); }
.quire-tool[aria-pressed="true"] { background: #e7ecff; color: var(--quire-accent); }
.quire-tool:disabled { opacity: .35; cursor: default; }
.quire-tool:focus-visible { outline: 2px solid var(--quire-accent); outline-offset: 1px; }
.quire-glyph { font-size: 15px; font-weight: 600; line-height: 1; }

/* ---- the page ----------------------------------------------------------- */
.quire-scroll { flex: 1 1 auto; min-height: 0; overflow-y: auto; }
.quire-page { max-width: var(--quire-measure); margin: 0 auto; padding: 40px 24px 96px; }
@media (max-width: 600px) {
  .quire-page { padding: 20px 16px 64px; }
  .quire-header { padding: 6px 12px; gap: 8px; }
  .quire-person-name, .quire-person-you { display: none; }
  .quire-person { padding: 0; background: none; }
  .quire-toolbar { padding: 4px 8px; }
}

/* ProseMirror's required rules (from Tiptap's injected CSS). */
.quire .ProseMirror { position: relative; word-wrap: break-word; white-space: pre-wrap; white-space: break-spaces; font-variant-ligatures: none; font-feature-settings: "liga" 0; }
.quire .ProseMirror [contenteditable="false"] { white-space: normal; }
.quire .ProseMirror [contenteditable="false"] [contenteditable="true"] { white-space: pre-wrap; }
.quire .ProseMirror pre { white-space: pre-wrap; }
.quire img.ProseMirror-separator { display: inline !important; border: none !important; margin: 0 !important; width: 0 !important; height: 0 !important; }
.quire .ProseMirror-gapcursor { display: none; pointer-events: none; position: absolute; margin: 0; }
.quire .ProseMirror-gapcursor::after { content: ""; display: block; position: absolute; top: -2px; width: 20px; border-top: 1px solid black; animation: quire-cursor-blink 1.1s steps(2, start) infinite; }
@keyframes quire-cursor-blink { to { visibility: hidden; } }
.quire .ProseMirror-hideselection *::selection { background: transparent; }
.quire .ProseMirror-hideselection * { caret-color: transparent; }
.quire .ProseMirror-focused .ProseMirror-gapcursor { display: block; }

/* Typography. */
.quire .ProseMirror {
  outline: none;
  min-height: 12rem;
  font-size: 17px;
  line-height: 1.7;
  color: var(--quire-text);
  caret-color: var(--quire-accent);
}
.quire .ProseMirror > * + * { margin-top: .75em; }
.quire .ProseMirror p { margin: 0; }
.quire .ProseMirror p + p { margin-top: .75em; }
.quire .ProseMirror h1, .quire .ProseMirror h2, .quire .ProseMirror h3 { line-height: 1.25; font-weight: 700; letter-spacing: -.01em; margin: 1.4em 0 .4em; }
.quire .ProseMirror > h1:first-child, .quire .ProseMirror > h2:first-child, .quire .ProseMirror > h3:first-child { margin-top: 0; }
.quire .ProseMirror h1 { font-size: 2em; }
.quire .ProseMirror h2 { font-size: 1.5em; }
.quire .ProseMirror h3 { font-size: 1.2em; }
.quire .ProseMirror ul, .quire .ProseMirror ol { padding-left: 1.5em; margin: .5em 0; }
.quire .ProseMirror li > p { margin: 0; }
.quire .ProseMirror li + li { margin-top: .2em; }
.quire .ProseMirror blockquote { margin: 1em 0; padding: .1em 0 .1em 1em; border-left: 3px solid var(--quire-border); color: var(--quire-muted); }
.quire .ProseMirror code { font: .9em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--quire-subtle); border-radius: 4px; padding: .1em .3em; }
.quire .ProseMirror pre { background: #1f2328; color: #f1f3f5; border-radius: 8px; padding: 14px 16px; overflow-x: auto; }
.quire .ProseMirror pre code { background: none; padding: 0; color: inherit; font-size: 14px; }
.quire .ProseMirror a { color: var(--quire-accent); text-decoration: underline; text-underline-offset: 2px; }
.quire .ProseMirror hr { border: 0; border-top: 1px solid var(--quire-border); margin: 2em 0; }
.quire .ProseMirror p.is-editor-empty:first-child::before {
  content: attr(data-placeholder);
  float: left;
  height: 0;
  color: #adb5bd;
  pointer-events: none;
}
.quire .ProseMirror[contenteditable="false"] { caret-color: transparent; }

/* Other people's carets and selections (CollaborationCaret). */
.quire .collaboration-carets__caret {
  position: relative;
  margin-left: -1px;
  margin-right: -1px;
  border-left: 1px solid;
  border-right: 1px solid;
  word-break: normal;
  pointer-events: none;
}
.quire .collaboration-carets__label {
  position: absolute;
  top: -1.45em;
  left: -1px;
  padding: 1px 6px;
  border-radius: 4px 4px 4px 0;
  color: #fff;
  font: 600 11px/1.4 ui-sans-serif, system-ui, sans-serif;
  white-space: nowrap;
  user-select: none;
}
`
