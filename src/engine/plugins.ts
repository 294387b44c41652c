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
import { existsSync, readdirSync, realpathSync, readFileSync, statSync } from 'node:fs';
import { join, relative, isAbsolute, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { z } from 'zod';
import { canonicalHash } from '../core/hash.js';
import { TENANT_RE } from '../core/ids.js';
import { VERSION } from '../core/runtime.js';
import { BUILTIN_PLUGINS } from './builtins/names.js';
import { hashPluginDir } from './plugin-files.js';
import { createRegistry, type PluginRegistry } from './plugin-registry.js';
import type { PluginRef } from './protocol.js';

export type { PluginRegistry, PinCheck } from './plugin-registry.js';

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The schema of `plugin.json`. */
export const PluginManifestSchema = z.object({
  name: z.string().regex(NAME_RE, 'lowercase letters, digits, ".", "_" or "-", at most 64'),
  version: z.string().refine((v) => semver.valid(v) === v, 'must be a SemVer 2.0 version'),
  entry: z.string().min(1),
  description: z.string().max(4096).default(''),
  inputsSchema: z.record(z.string(), z.unknown()).optional(),
  capabilities: z
    .object({ network: z.boolean().default(false), exec: z.array(z.string()).default([]) })
    .default({ network: false, exec: [] }),
});
export type PluginManifest = z.infer<typeof PluginManifestSchema>;

/** A loaded plugin: what DAG validation, pinning, `/admin/warm` and the pool need. */
export interface ResolvedPlugin {
  name: string;
  version: string;
  /** `name@version`. */
  ref: string;
  /** Content hash (built-ins: of their name and version; folders: of every file, `plugin-files.ts`). */
  hash: string;
  builtin: boolean;
  /** The tenant that owns it (a bundle's plugin), or null for built-in and operator plugins. */
  owner: string | null;
  description: string;
  inputsSchema?: Record<string, unknown>;
  capabilities: { network: boolean; exec: string[] };
  /** Folder plugins only: the plugin folder and the entry's file path. */
  dir?: string;
  entryPath?: string;
  /** What the worker needs to run it. */
  workerRef: PluginRef;
}

/** A plugin folder that cannot be loaded; `path` names the offending file or folder. */
export class PluginLoadError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'PluginLoadError';
    this.path = path;
  }
}

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

function builtinPlugins(): ResolvedPlugin[] {
  return BUILTIN_PLUGINS.map(({ name, description }) => ({
    name,
    version: VERSION,
    ref: `${name}@${VERSION}`,
    hash: canonicalHash({ builtin: name, version: VERSION }),
    builtin: true,
    owner: null,
    description,
    capabilities: { network: false, exec: [] },
    workerRef: { name, version: VERSION, builtin: true },
  }));
}

function readManifest(dir: string): { raw: Buffer; m: PluginManifest; manifestPath: string } {
  const manifestPath = join(dir, 'plugin.json');
  let raw: Buffer;
  try {
    raw = readFileSync(manifestPath);
  } catch {
    throw new PluginLoadError(dir, 'missing plugin.json');
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PluginLoadError(manifestPath, 'not valid JSON');
  }
  const parsed = PluginManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PluginLoadError(manifestPath, `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return { raw, m: parsed.data, manifestPath };
}

/** Loads one plugin folder whose name must be `name` (and version `version`, when given). */
function loadOne(dir: string, want: { name: string; version?: string }, owner: string | null): ResolvedPlugin {
  const { m, manifestPath } = readManifest(dir);
  if (m.name !== want.name) throw new PluginLoadError(manifestPath, `name "${m.name}" must match its folder "${want.name}"`);
  if (want.version !== undefined && m.version !== want.version) {
    throw new PluginLoadError(manifestPath, `version "${m.version}" must match its folder "${want.name}@${want.version}"`);
  }
  if (isAbsolute(m.entry)) throw new PluginLoadError(manifestPath, 'entry must be a path inside the plugin folder');
  let entryPath: string;
  try {
    const realDir = realpathSync(dir);
    entryPath = realpathSync(join(dir, m.entry));
    const rel = relative(realDir, entryPath);
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
      throw new PluginLoadError(manifestPath, 'entry must be a path inside the plugin folder');
    }
    if (!statSync(entryPath).isFile()) throw new PluginLoadError(manifestPath, `entry ${m.entry} is not a file`);
  } catch (e) {
    if (e instanceof PluginLoadError) throw e;
    throw new PluginLoadError(manifestPath, `entry ${m.entry} not found`);
  }
  let hash: string;
  try {
    hash = hashPluginDir(dir);
  } catch (e) {
    throw new PluginLoadError(dir, (e as Error).message);
  }
  // The hash in the URL gives a changed plugin (reloaded by /admin/warm) a fresh module instance.
  const entryUrl = `${pathToFileURL(entryPath).href}?h=${hash.slice(0, 16)}`;
  return {
    name: m.name,
    version: m.version,
    ref: `${m.name}@${m.version}`,
    hash,
    builtin: false,
    owner,
    description: m.description,
    inputsSchema: m.inputsSchema,
    capabilities: m.capabilities,
    dir,
    entryPath,
    workerRef: { name: m.name, version: m.version, entryUrl },
  };
}

/** Sorted visible sub-folders of `root` (hidden ones and plain files skipped). */
function subfolders(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch {
    throw new PluginLoadError(root, 'plugins folder not found or not readable');
  }
  return names.filter((folder) => {
    if (folder.startsWith('.')) return false;
    try {
      return statSync(join(root, folder)).isDirectory();
    } catch {
      throw new PluginLoadError(join(root, folder), 'not readable (broken link?)');
    }
  });
}

/** Parses `<name>@<version>`, the folder name of a tenant plugin. */
export function tenantPluginFolder(folder: string): { name: string; version: string } | undefined {
  const at = folder.indexOf('@');
  if (at <= 0) return undefined;
  const name = folder.slice(0, at);
  const version = folder.slice(at + 1);
  return NAME_RE.test(name) && semver.valid(version) === version ? { name, version } : undefined;
}

class Loader {
  readonly byRef = new Map<string, ResolvedPlugin>();
  readonly tenants = new Map<string, Map<string, ResolvedPlugin>>();
  readonly warnings: string[] = [];
  private readonly builtinNames: Set<string>;

  constructor() {
    const builtins = builtinPlugins();
    this.builtinNames = new Set(builtins.map((b) => b.name));
    for (const b of builtins) this.byRef.set(b.ref, b);
  }

  /** `DIR/<name>/` folders, installation-wide. Strict: every problem throws; lenient: warns. */
  installationWide(root: string, strict: boolean): void {
    let folders: string[];
    try {
      folders = subfolders(root);
    } catch (e) {
      if (strict) throw e;
      return this.warn(e);
    }
    for (const folder of folders) {
      const dir = join(root, folder);
      try {
        if (this.builtinNames.has(folder)) {
          throw new PluginLoadError(dir, `"${folder}" is a built-in plugin name and cannot be shadowed`);
        }
        const p = loadOne(dir, { name: folder }, null);
        const prior = this.byRef.get(p.ref);
        if (prior && prior.hash !== p.hash) {
          throw new PluginLoadError(dir, `${p.ref} is also in ${prior.dir} with different content`);
        }
        if (!prior) this.byRef.set(p.ref, p);
      } catch (e) {
        if (strict) throw e;
        this.warn(e, 'skipped');
      }
    }
  }

  /** `ROOT/<tenant>/<name>@<version>/`, each tenant's own. Always lenient. */
  tenantOwned(root: string): void {
    let tenants: string[];
    try {
      tenants = subfolders(root);
    } catch {
      return; // no tenant plugin was ever installed
    }
    for (const tenant of tenants) {
      if (!TENANT_RE.test(tenant)) {
        this.warnings.push(`${join(root, tenant)}: not a tenant id; skipped`);
        continue;
      }
      const own = new Map<string, ResolvedPlugin>();
      let folders: string[];
      try {
        folders = subfolders(join(root, tenant));
      } catch (e) {
        this.warn(e, 'skipped');
        continue;
      }
      for (const folder of folders) {
        const dir = join(root, tenant, folder);
        try {
          const want = tenantPluginFolder(folder);
          if (!want) throw new PluginLoadError(dir, 'folder name must be <name>@<version>');
          if (this.builtinNames.has(want.name)) throw new PluginLoadError(dir, `"${want.name}" is a built-in plugin name`);
          const p = loadOne(dir, want, tenant);
          const wide = this.byRef.get(p.ref);
          if (wide && wide.hash !== p.hash) {
            throw new PluginLoadError(dir, `${p.ref} is also an installation-wide plugin (${wide.dir}) with other content; that one is used`);
          }
          own.set(p.ref, p);
        } catch (e) {
          this.warn(e, 'skipped');
        }
      }
      if (own.size > 0) this.tenants.set(tenant, own);
    }
  }

  private warn(e: unknown, what?: string): void {
    if (!(e instanceof PluginLoadError)) throw e;
    this.warnings.push(what ? `${e.message}; ${what}` : e.message);
  }
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
