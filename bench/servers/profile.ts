/** node flags that write a CPU profile per process into BENCH_CPU_PROF_DIR/<label>, when it is set. */
import { join } from 'node:path'
import { config } from '../config.js'

export function profileArgs (label: string): string[] {
  if (!config.cpuProfDir) return []
  return ['--cpu-prof', '--cpu-prof-dir', join(config.cpuProfDir, label.replace(/\W+/g, '-'))]
}
