/**
 * The library's settings are the environment variables of
 * docs/configuration.md in camelCase (`MAX_MESSAGE_BYTES` → `maxMessageBytes`),
 * validated by the same schema: a setting given in code wins over the
 * environment, and whatever neither gives keeps its default
 * (docs/server-library.md, "Options").
 */
import { CONFIG_KEYS, ConfigError, loadConfig, type Config, type ConfigKey } from '../config.js'

/** `MAX_MESSAGE_BYTES` → `maxMessageBytes`. */
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}` : Lowercase<S>

/** A value as the environment would hold it: text, a number, a list (joined with commas), or WEBHOOKS' endpoints. */
export type SettingValue = string | number | readonly string[] | readonly object[]

export type QuireSettings = { [K in ConfigKey as CamelCase<K>]?: SettingValue }

/** `maxMessageBytes` → `MAX_MESSAGE_BYTES`. */
export function envName (setting: string): string {
  return setting.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()
}

function asText (value: SettingValue): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(value)
  return value.every((item) => typeof item === 'string') ? value.join(',') : JSON.stringify(value)
}

/**
 * The configuration from `settings` over `env`. Keys of `settings` that are
 * not settings (hooks, the store) are the caller's to leave out; an unknown
 * setting is a ConfigError, as a bad value is. With `hookDecides` (an
 * authenticate hook) Quire is not in open mode whatever AUTH_* say, so
 * OPEN_MODE=refuse has nothing to refuse.
 */
export function configFrom (settings: Record<string, unknown>, env: NodeJS.ProcessEnv, hookDecides = false): Config {
  const known = new Set<string>(CONFIG_KEYS)
  const given: Record<string, string> = {}
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue
    const name = envName(key)
    if (!known.has(name) || key !== key.replace(/_/g, '')) throw new ConfigError(`unknown setting ${key} (settings are the environment variables of docs/configuration.md in camelCase)`)
    given[name] = asText(value as SettingValue)
  }
  const merged: NodeJS.ProcessEnv = { ...env, ...given }
  if (hookDecides) delete merged.OPEN_MODE
  return loadConfig(merged)
}
