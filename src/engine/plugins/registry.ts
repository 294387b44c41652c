/**
 * The plugin registry: which plugin a reference names, for whom (CONTRACT §16).
 *
 * - `resolve(ref)` sees the installation-wide plugins only (built-ins, operator folders);
 * - `resolveFor(tenant, ref)` sees those plus the tenant's own (from its bundles) — never
 *   another tenant's. A bare `name` is the highest version of either set; `name@version`
 *   prefers the installation-wide plugin (the loader drops a tenant copy whose content differs);
 * - `pinned(tenant, pin)` is the plugin a DAG version pinned at publish, exactly: same
 *   name@version, visible to the tenant, same content hash. A built-in pin is satisfied by the
 *   built-in of that name (built-ins are the program itself and change only with it).
 *
 * @example
 * const p = registry.resolveFor('acme', 'digest-manifest');
 * registry.pinned('acme', { name: p.name, version: p.version, contentHash: p.hash, builtin: false }); // { ok: true, plugin: p }
 */
import semver from 'semver';
import type { PluginPin } from '../../dags/pins.js';
import type { ResolvedPlugin } from './plugins.js';

/** The plugin a pin names, or why it cannot run. */
export type PinCheck =
  | { ok: true; plugin: ResolvedPlugin }
  | { ok: false; reason: 'missing' | 'changed'; message: string };

export interface PluginRegistry {
  /** Installation-wide: `"name"` (highest version) or `"name@version"`; undefined when unknown. */
  resolve(ref: string): ResolvedPlugin | undefined;
  has(ref: string): boolean;
  /** What `tenant` resolves: its own plugins and the installation-wide ones. */
  resolveFor(tenant: string, ref: string): ResolvedPlugin | undefined;
  /** The pinned plugin for `tenant`, exactly (`ref` is `name@version`, when the caller has it). */
  pinned(tenant: string, pin: PluginPin & { ref?: string }): PinCheck;
  /** Every loaded plugin: installation-wide ones (by name, then version descending), then each tenant's. */
  list(): ResolvedPlugin[];
  /** Problems of tenant and legacy folders that were skipped (they name paths: for the log only). */
  readonly warnings: readonly string[];
}

interface Index {
  byRef: Map<string, ResolvedPlugin>;
  latest: Map<string, ResolvedPlugin>;
  sorted: ResolvedPlugin[];
}

function index(plugins: Iterable<ResolvedPlugin>): Index {
  const sorted = [...plugins].sort((a, b) =>
    a.name !== b.name ? (a.name < b.name ? -1 : 1) : semver.rcompare(a.version, b.version),
  );
  const latest = new Map<string, ResolvedPlugin>();
  for (const p of sorted) if (!latest.has(p.name)) latest.set(p.name, p);
  return { byRef: new Map(sorted.map((p) => [p.ref, p])), latest, sorted };
}

/** The higher version of two candidates; on a tie the first (installation-wide) one. */
function higher(a: ResolvedPlugin | undefined, b: ResolvedPlugin | undefined): ResolvedPlugin | undefined {
  if (!a || !b) return a ?? b;
  return semver.gte(a.version, b.version) ? a : b;
}

/** Builds a registry from installation-wide plugins and each tenant's own (by tenant, then ref). */
export function createRegistry(
  wide: readonly ResolvedPlugin[],
  tenants: ReadonlyMap<string, ReadonlyMap<string, ResolvedPlugin>>,
  warnings: readonly string[] = [],
): PluginRegistry {
  const all = index(wide);
  const own = new Map([...tenants].map(([t, m]) => [t, index(m.values())]));
  const builtins = new Map(wide.filter((p) => p.builtin).map((p) => [p.name, p]));
  const resolve = (ref: string): ResolvedPlugin | undefined =>
    typeof ref === 'string' ? (ref.includes('@') ? all.byRef.get(ref) : all.latest.get(ref)) : undefined;
  const resolveFor = (tenant: string, ref: string): ResolvedPlugin | undefined => {
    if (typeof ref !== 'string') return undefined;
    const mine = own.get(tenant);
    if (ref.includes('@')) return all.byRef.get(ref) ?? mine?.byRef.get(ref);
    return higher(all.latest.get(ref), mine?.latest.get(ref));
  };
  const list = [...all.sorted, ...[...own.keys()].sort().flatMap((t) => own.get(t)!.sorted)];
  return Object.freeze({
    resolve,
    has: (ref: string) => resolve(ref) !== undefined,
    resolveFor,
    pinned(tenant: string, pin: PluginPin & { ref?: string }): PinCheck {
      const ref = pin.ref ?? `${pin.name}@${pin.version}`;
      if (pin.builtin) {
        const b = builtins.get(pin.name);
        return b ? { ok: true, plugin: b } : { ok: false, reason: 'missing', message: `built-in plugin ${pin.name} no longer exists` };
      }
      const p = resolveFor(tenant, ref);
      if (!p) return { ok: false, reason: 'missing', message: `plugin ${ref} (pinned by the DAG version) is not installed` };
      if (p.hash !== pin.contentHash) {
        return { ok: false, reason: 'changed', message: `plugin ${ref} (pinned by the DAG version) is installed with other content than was pinned` };
      }
      return { ok: true, plugin: p };
    },
    list: () => [...list],
    warnings: Object.freeze([...warnings]),
  });
}
