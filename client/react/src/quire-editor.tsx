/**
 * <QuireEditor>: the whole collaborative editor (@quire/editor's
 * mountEditor) in a div this component renders, on the document
 * useQuireDocument shares, so hooks for the same document next to it use the
 * same provider and socket. When StrictMode mounts, destroys and mounts the
 * editor again, the provider stays (docs/embedding-react.md).
 */
import { useEffect, useRef, type CSSProperties, type ReactElement } from 'react'
import { mountEditor, type EditorStatus, type EditorUser, type MountedEditor } from '@quire/editor'
import { useQuireDocument, type UseQuireDocumentOptions } from './use-quire-document.js'

export interface QuireEditorProps extends UseQuireDocumentOptions {
  /**
   * Who is editing; missing parts are filled in. With a token, the id and
   * name are the token's (what the server shows others).
   */
  user?: Partial<EditorUser>
  /** Called whenever the connection status, saved state or access changes. */
  onStatus?: (status: EditorStatus) => void
  /** Called with the mounted editor (Tiptap's `editor`, `provider`, `ydoc`, `signOut()`), each time it is mounted. */
  onReady?: (editor: MountedEditor) => void
  /** Text shown in an empty document. */
  placeholder?: string
  /** Focus the editor once mounted (default false). */
  autofocus?: boolean
  /**
   * Add the editor's stylesheet as a `<style>` (default true). `false` when
   * the app imports `@quire/editor/styles.css` itself (a CSP without inline styles).
   */
  styles?: boolean
  className?: string
  style?: CSSProperties
}

export function QuireEditor (props: QuireEditorProps): ReactElement {
  const { user, className, style } = props
  const { provider } = useQuireDocument(connectionOf(props))
  const element = useRef<HTMLDivElement>(null)
  const mounted = useRef<MountedEditor | null>(null)
  // Callbacks and the user are read when used, so a new function each render does not remount the editor.
  const latest = useRef(props)
  latest.current = props

  useEffect(() => {
    if (provider === null || element.current === null) return
    const { user, placeholder, autofocus, styles } = latest.current
    const editor = mountEditor(element.current, {
      server: provider.server,
      doc: provider.doc,
      provider,
      user,
      placeholder,
      autofocus,
      styles,
      onStatus: (status) => latest.current.onStatus?.(status),
    })
    mounted.current = editor
    latest.current.onReady?.(editor)
    return () => {
      mounted.current = null
      editor.destroy()
    }
  }, [provider])

  useEffect(() => {
    if (user !== undefined) mounted.current?.setUser(user)
  }, [user?.id, user?.name, user?.color])

  return <div ref={element} className={className} style={style} data-quire-doc={props.doc} />
}

/** The props that are useQuireDocument's, not the editor's. */
const EDITOR_PROPS = ['user', 'onStatus', 'onReady', 'placeholder', 'autofocus', 'styles', 'className', 'style'] as const

function connectionOf (props: QuireEditorProps): UseQuireDocumentOptions {
  const connection: Partial<QuireEditorProps> = { ...props }
  for (const name of EDITOR_PROPS) delete connection[name]
  return connection as UseQuireDocumentOptions
}
