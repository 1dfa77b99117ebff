/**
 * What a scenario reports: named figures, each with the values of its
 * repeats (windows or restarts); the report shows their median and flags
 * figures whose repeats disagree.
 */
import type { ServerKind } from './config.js'
import { median, spread } from './stats.js'

export interface Figure {
  label: string
  unit: string
  better: 'lower' | 'higher'
  values: number[]
  /** Digits after the point in the table. */
  digits: number
}

export type Status = 'ok' | 'not available' | 'failed' | 'skipped'

export interface ScenarioResult {
  scenario: string
  server: ServerKind
  status: Status
  reason?: string
  figures: Record<string, Figure>
  /** Average machine load from outside the bench during the measurement, in cores. */
  foreignCores?: number
  loadgenCores?: number
  notes?: string[]
}

export function figure (label: string, unit: string, better: 'lower' | 'higher', values: number[], digits = 1): Figure {
  return { label, unit, better, values, digits }
}

export const valueOf = (f: Figure | undefined): number => (f ? median(f.values) : NaN)

/** Repeats disagree by more than this share of the median: the figure is noisy. */
export const NOISY_SPREAD = 0.25
export const isNoisy = (f: Figure): boolean => spread(f.values) > NOISY_SPREAD

export function unavailable (scenario: string, server: ServerKind, status: Status, reason: string): ScenarioResult {
  return { scenario, server, status, reason, figures: {} }
}
