/**
 * Plugin pins (CONTRACT §16): at publish, every step's `plugin` reference is resolved, as the
 * publishing tenant sees the plugins then, to `name@version` plus the plugin's content hash.
 * The pins are stored with the DAG version and runs use exactly those plugins; a newer plugin
 * never changes what an existing version runs.
 *
 * Shape (stored as canonical JSON, shown as `pluginPins` in the API): one entry per distinct
 * reference as written in `steps[].plugin`:
 * ```json
 * {"digest-manifest": {"name":"digest-manifest","version":"1.0.0","contentHash":"<64 hex>","builtin":false},
 *  "noop@0.1.0":     {"name":"noop","version":"0.1.0","contentHash":"<64 hex>","builtin":true}}
 * ```
 *
 * @example
 * const pins = pinPlugins(doc, (ref) => registry.resolveFor('acme', ref));
 * pins['digest-manifest'].version // '1.0.0'
 */
import { canonicalJson } from '../core/hash.js';
import type { DagContent } from './model.js';

/** What a DAG version pins for one plugin reference. */
export interface PluginPin {
  name: string;
  version: string;
  contentHash: string;
  builtin: boolean;
}

/** Pins by the reference as written in the steps. */
export type PluginPins = Record<string, PluginPin>;

/** A pin with its `name@version`, ready for lookups. */
export type PinEntry = PluginPin & { ref: string };

/** What pinning needs of a resolved plugin. */
export interface PinnablePlugin {
  name: string;
  version: string;
  hash: string;
  builtin: boolean;
  /** What publish checks a step's fixed `with` values against (`with-check.ts`). */
  inputsSchema?: Record<string, unknown>;
}

/** Resolves a step's plugin reference as one tenant sees the plugins. */
export type PinResolver = (ref: string) => PinnablePlugin | undefined;

/**
 * Pins every distinct plugin reference of a (validated) DAG. Returns undefined when a
 * reference does not resolve (validation reports it as `UNKNOWN_PLUGIN`).
 */
export function pinPlugins(doc: Pick<DagContent, 'steps'>, resolve: PinResolver): PluginPins | undefined {
  const pins: PluginPins = {};
  for (const step of doc.steps) {
    if (Object.hasOwn(pins, step.plugin)) continue;
    const p = resolve(step.plugin);
    if (!p) return undefined;
    pins[step.plugin] = { name: p.name, version: p.version, contentHash: p.hash, builtin: p.builtin };
  }
  return pins;
}

/** The stored form: canonical JSON. */
export function pinsJson(pins: PluginPins): string {
  return canonicalJson(pins);
}

/** Parses stored pins into a lookup table by reference. */
export function parsePins(text: string): ReadonlyMap<string, PinEntry> {
  const obj = JSON.parse(text) as PluginPins;
  return new Map(Object.entries(obj).map(([k, p]) => [k, { ...p, ref: `${p.name}@${p.version}` }]));
}
