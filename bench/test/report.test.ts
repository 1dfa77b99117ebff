/**
 * The report's pure parts: medians with their spread, ratios to the raw
 * relay and to Hocuspocus of the same setup, and the scale table's growth.
 */
import { describe, expect, it } from 'vitest'
import { figure, type ScenarioResult } from '../results.js'
import { hocuspocusOf, ratio, scaleSection, scenarioTable, valueCell } from '../report.js'
import { median, spread } from '../stats.js'
import { SCALE_PREFIX } from '../scenarios/scale.js'
import type { ServerKind } from '../config.js'

const result = (scenario: string, server: ServerKind, cpu: number[], p99: number[] = [1]): ScenarioResult => ({
  scenario, server, status: 'ok',
  figures: { cpuPerDelivery: figure('server CPU per delivery', 'µs', 'lower', cpu), p99: figure('p99 latency', 'ms', 'lower', p99), rss: figure('server RSS', 'MiB', 'lower', [100], 0) },
})

describe('bench stats', () => {
  it('median of odd and even counts, ignoring what is not a number', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([NaN, 5])).toBe(5)
    expect(median([])).toBeNaN()
  })

  it('spread is (max − min) / median', () => {
    expect(spread([9, 10, 12])).toBeCloseTo(0.3)
    expect(spread([10])).toBe(0)
  })
})

describe('bench report', () => {
  it('shows a median with the range of its repeats, and flags repeats that disagree', () => {
    expect(valueCell(figure('x', 'µs', 'lower', [29.6, 28.1, 31]))).toBe('29.6 (28.1–31.0)')
    expect(valueCell(figure('x', 'µs', 'lower', [10, 20, 30]))).toBe('20.0 (10.0–30.0) ~')
    expect(valueCell(figure('x', 'µs', 'lower', [7]))).toBe('7.0')
  })

  it('gives ratios two significant digits', () => {
    const f = (v: number): ReturnType<typeof figure> => figure('x', '', 'lower', [v])
    expect(ratio(f(29.6), f(10.4))).toBe('2.8×')
    expect(ratio(f(1), f(400))).toBe('0.0025×')
    expect(ratio(f(250), f(10))).toBe('25×')
    expect(ratio(f(1), f(0))).toBe('—')
  })

  it('compares every row with the raw relay and with Hocuspocus of the same setup', () => {
    expect(hocuspocusOf('quire')).toBe('hocuspocus')
    expect(hocuspocusOf('quire-redis')).toBe('hocuspocus-redis')
    const table = scenarioTable('fixed', [
      result('fixed', 'relay', [10, 11, 9]),
      result('fixed', 'hocuspocus', [25]),
      result('fixed', 'quire', [30, 28, 31]),
      result('fixed', 'hocuspocus-redis', [50]),
      result('fixed', 'quire-redis', [25]),
    ]).join('\n')
    expect(table).toContain('| Quire | 30.0 (28.0–31.0) | 1.0 |')
    // Quire: 30 / 10 relay, 30 / 25 Hocuspocus; Quire ×2 + Redis: 25 / 10 relay, 25 / 50 Hocuspocus ×2 + Redis.
    expect(table).toMatch(/\| Quire \| 3\.0× · 1\.2× \|/)
    expect(table).toMatch(/\| Quire ×2 \+ Redis \| 2\.5× · 0\.50× \|/)
  })

  it('shows how the cost grows down the scale table, sizes and writers apart', () => {
    const rows = [
      result(`${SCALE_PREFIX}documents of 10 KiB`, 'quire', [20]),
      result(`${SCALE_PREFIX}documents of 10 MiB`, 'quire', [30]),
      result(`${SCALE_PREFIX}1 writer in one document`, 'quire', [40]),
      result(`${SCALE_PREFIX}100 writers in one document`, 'quire', [20]),
    ]
    const text = scaleSection(rows).join('\n')
    expect(text).toContain('| documents of 10 MiB | 30.0 (1.5×) |')
    expect(text).toContain('| 100 writers in one document | 20.0 (0.50×) |')
  })
})
