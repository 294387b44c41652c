/**
 * Plugin discovery and hashing (CONTRACT §9, §16). Each plugin folder is validated and hashed
 * once at load (and again by `/admin/warm`); built-ins are always present. Nothing is ever
 * downloaded. Who may resolve which plugin is the registry's business (`plugin-registry.ts`):
 *
 * - **operator plugins** (`--plugins-dir DIR`, `DIR/<name>/`) are installation-wide; a broken
 *   folder or the same name@version twice with other content is a start-up error;
 * - **tenant plugins** (`DATA/tenant-plugins/<tenant>/<name>@<version>/`, installed by bundle
 *   imports) belong to that tenant alone; several versions live side by side;
 * - **legacy plugins** (`DATA/plugins/<name>/`, where bundle imports of earlier versions put
 *   them) stay installation-wide.
 *
 * Tenant and legacy folders are loaded leniently: a broken one, or one whose name@version an
 * operator plugin already has with other content, is skipped with a warning (the operator's
 * wins) — a folder a bundle installed can never stop the server from starting.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Loader } from './loader.js';
import { createRegistry, type PluginRegistry } from './registry.js';

export type { PluginRegistry, PinCheck } from './registry.js';
export { PluginManifestSchema, PluginLoadError, type PluginManifest, type ResolvedPlugin } from './manifest.js';
export { tenantPluginFolder } from './loader.js';

/** Where plugins are loaded from (see the module comment). */
export interface PluginSources {
  operator?: readonly string[];
  legacy?: readonly string[];
  tenantRoot?: string;
}

/** Tenant-owned plugins, inside the data folder. */
export const TENANT_PLUGINS_DIR = 'tenant-plugins';
/** Where bundle imports of earlier versions installed plugins, inside the data folder. */
export const LEGACY_PLUGINS_DIR = 'plugins';

/**
 * The plugin sources of an installation: the operator's folders, the data folder's legacy
 * folder (when it exists) and its tenant plugins. The server and `bundle import` use the same.
 *
 * @example
 * loadPlugins(installationPlugins('./data', ['./plugins']))
 */
export function installationPlugins(dataDir: string, operatorDirs: readonly string[]): Required<PluginSources> {
  const legacy = join(dataDir, LEGACY_PLUGINS_DIR);
  return { operator: operatorDirs, legacy: existsSync(legacy) ? [legacy] : [], tenantRoot: join(dataDir, TENANT_PLUGINS_DIR) };
}

/**
 * Loads every plugin (synchronously: start-up and `/admin/warm` only). Given a list of
 * folders, they are operator folders. Throws {@link PluginLoadError} with a clear message for
 * a broken operator plugin, a folder name that does not match, a built-in name, or the same
 * name@version with different content in two operator folders; problems of tenant and legacy
 * folders are in `registry.warnings` instead.
 *
 * @example
 * const registry = loadPlugins({ operator: ['./plugins'], tenantRoot: 'data/tenant-plugins' });
 * registry.resolve('digest-manifest')?.version;           // '1.0.0' (installation-wide)
 * registry.resolveFor('acme', 'digest-manifest')?.version; // acme's own newer one, if any
 */
export function loadPlugins(sources: readonly string[] | PluginSources): PluginRegistry {
  const s: PluginSources = Array.isArray(sources) ? { operator: sources as readonly string[] } : (sources as PluginSources);
  const loader = new Loader();
  for (const root of s.operator ?? []) loader.installationWide(root, true);
  for (const root of s.legacy ?? []) loader.installationWide(root, false);
  if (s.tenantRoot) loader.tenantOwned(s.tenantRoot);
  return createRegistry([...loader.byRef.values()], loader.tenants, loader.warnings);
}

/** A registry that can be loaded again from its folders (`/admin/warm`, bundle imports). */
export interface ReloadableRegistry extends PluginRegistry {
  /** Re-reads the folders; keeps the current plugins when the new load fails. Returns the count. */
  reload(): number;
}

/**
 * @example
 * const registry = reloadablePlugins({ operator: config.pluginsDirs, tenantRoot: join(dataDir, 'tenant-plugins') });
 * registry.reload(); // after a bundle installed plugins
 */
export function reloadablePlugins(sources: readonly string[] | PluginSources, onWarning?: (message: string) => void): ReloadableRegistry {
  const load = () => {
    const r = loadPlugins(sources);
    for (const w of r.warnings) onWarning?.(w);
    return r;
  };
  let current = load();
  return {
    resolve: (ref) => current.resolve(ref),
    has: (ref) => current.has(ref),
    resolveFor: (tenant, ref) => current.resolveFor(tenant, ref),
    pinned: (tenant, pin) => current.pinned(tenant, pin),
    list: () => current.list(),
    get warnings() {
      return current.warnings;
    },
    reload() {
      current = load();
      return current.list().length;
    },
  };
}
