/**
 * `npm run dev`: work on Quire with hot reload.
 *   - the server: compiled once, then `tsc --watch` and `node --watch` restart it on change (PORT, default 1234);
 *   - the client: Vite's dev server (VITE_PORT, default 5173) with hot module reload; the editor connects
 *     straight to the Quire server's WebSocket, /api and the health routes are proxied to it.
 * `npm run dev -- --host` makes the dev server reachable from other devices (a phone on the same network),
 * and the Quire server too (HOST=0.0.0.0).
 * Every other variable (DATA_DIR, AUTH_SECRET, …) goes to the server as with `npm start`. Unless
 * ALLOWED_ORIGINS is set, the Vite pages' origins are allowed (they are another origin than the server's).
 */
import { execFileSync, spawn } from 'node:child_process'
import { networkInterfaces } from 'node:os'
import { createServer } from 'vite'

const port = process.env.PORT ?? '1234'
const vitePort = Number(process.env.VITE_PORT ?? 5173)
const tsc = 'node_modules/typescript/bin/tsc'
const exposed = process.argv.includes('--host')
/** Where the Vite pages come from: this machine's names, and with --host its network addresses. */
const viteOrigins = () => {
  const hosts = ['localhost', '127.0.0.1']
  if (exposed) {
    for (const addresses of Object.values(networkInterfaces())) {
      for (const a of addresses ?? []) if (!a.internal && a.family === 'IPv4') hosts.push(a.address)
    }
  }
  return hosts.map((h) => `http://${h}:${vitePort}`).join(',')
}
const serverEnv = {
  PORT: port,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  ALLOWED_ORIGINS: process.env.ALLOWED_ORIGINS ?? viteOrigins(),
  // No load balancer in front: a restart on a code change drains at once.
  DRAIN_GRACE_MS: process.env.DRAIN_GRACE_MS ?? '0',
  DRAIN_SPREAD_MS: process.env.DRAIN_SPREAD_MS ?? '0',
  ...exposed && !process.env.HOST ? { HOST: '0.0.0.0' } : {},
}
const children = []

const run = (args, env = {}) => {
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ...env } })
  children.push(child)
  return child
}

execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'inherit' })
run([tsc, '-p', 'tsconfig.json', '--watch', '--preserveWatchOutput'])
run(['--watch-path=dist/server', 'dist/server/main.js'], serverEnv)

// The page finds the sync endpoint on its own host name, at the server's port.
process.env.VITE_QUIRE_SERVER = `:${port}`
process.env.QUIRE_SERVER_HTTP = `http://127.0.0.1:${port}`
const vite = await createServer({
  configFile: 'client/vite.config.ts',
  server: { port: vitePort, host: exposed ? true : undefined },
})
await vite.listen()
vite.printUrls()
console.log(`  Quire server: http://localhost:${port}  (editor: open the Vite URL above, e.g. /d/scratch)\n`)

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  for (const child of children) child.kill('SIGTERM')
  await vite.close()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
