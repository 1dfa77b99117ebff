/** Types of vite.shared.mjs (plain JS, since scripts/build-client.mjs imports it without a TypeScript step). */
import type { UserConfig } from 'vite'

export const clientRoot: string
export const outDir: string
export const shared: Pick<UserConfig, 'root' | 'resolve'>
