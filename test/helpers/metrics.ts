/** Reads a Quire process's /metrics into a map: "name" or "name{labels}" -> value. */
export async function readMetrics (baseUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text()
  const values = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const i = line.lastIndexOf(' ')
    values.set(line.slice(0, i), Number(line.slice(i + 1)))
  }
  return values
}

/** The gauges that must return to zero once every client has gone. */
export async function liveCounts (baseUrl: string): Promise<{ connections: number, documents: number, alive: number, timers: number }> {
  const m = await readMetrics(baseUrl)
  return {
    connections: m.get('quire_connections') ?? NaN,
    documents: m.get('quire_documents_loaded') ?? NaN,
    alive: m.get('quire_documents_alive') ?? NaN,
    timers: m.get('quire_timers_active') ?? NaN,
  }
}

export const allZero = (c: Record<string, number>): boolean => Object.values(c).every((v) => v === 0)
