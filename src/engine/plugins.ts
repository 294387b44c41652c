/**
 * Plugin discovery and hashing (CONTRACT §9). Each `DIR/<name>/plugin.json` is validated and
 * hashed once at load; built-ins are always present. Nothing is ever downloaded.
 */
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, isAbsolute, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { z } from 'zod';
import { canonicalHash, sha256Hex } from '../core/hash.js';
import { VERSION } from '../core/runtime.js';
import { BUILTIN_PLUGINS } from './builtins/names.js';
import type { PluginRef } from './protocol.js';

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

/** A loaded plugin: what DAG validation, `/admin/warm` and the pool need. */
export interface ResolvedPlugin {
  name: string;
  version: string;
  /** `name@version`. */
  ref: string;
  /** SHA-256 of the plugin (built-ins: of their name and version; folders: plugin.json + entry). */
  hash: string;
  builtin: boolean;
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

export interface PluginRegistry {
  /** `"name"` (highest version) or `"name@version"`; undefined when unknown. */
  resolve(ref: string): ResolvedPlugin | undefined;
  has(ref: string): boolean;
  /** Every plugin, by name, then version descending. */
  list(): ResolvedPlugin[];
}

function builtinPlugins(): ResolvedPlugin[] {
  return BUILTIN_PLUGINS.map(({ name, description }) => ({
    name,
    version: VERSION,
    ref: `${name}@${VERSION}`,
    hash: canonicalHash({ builtin: name, version: VERSION }),
    builtin: true,
    description,
    capabilities: { network: false, exec: [] },
    workerRef: { name, version: VERSION, builtin: true },
  }));
}

function loadOne(dir: string, folder: string): ResolvedPlugin {
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
  const m = parsed.data;
  if (m.name !== folder) throw new PluginLoadError(manifestPath, `name "${m.name}" must match its folder "${folder}"`);
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
  const entryBytes = readFileSync(entryPath);
  const hash = canonicalHash({ entry: sha256Hex(entryBytes), manifest: sha256Hex(raw) });
  // The hash in the URL gives a changed plugin (reloaded by /admin/warm) a fresh module instance.
  const entryUrl = `${pathToFileURL(entryPath).href}?h=${hash.slice(0, 16)}`;
  return {
    name: m.name,
    version: m.version,
    ref: `${m.name}@${m.version}`,
    hash,
    builtin: false,
    description: m.description,
    inputsSchema: m.inputsSchema,
    capabilities: m.capabilities,
    dir,
    entryPath,
    workerRef: { name: m.name, version: m.version, entryUrl },
  };
}

/**
 * Loads every plugin folder of `dirs` (synchronously: start-up and `/admin/warm` only).
 * Throws {@link PluginLoadError} with a clear message for a broken plugin, a folder name that
 * does not match, a built-in name, or the same name@version with different content.
 *
 * @example
 * const registry = loadPlugins(['./plugins']);
 * registry.resolve('digest-manifest')?.version; // '1.0.0'
 * registry.resolve('noop@0.1.0')?.builtin;       // true
 */
export function loadPlugins(dirs: readonly string[]): PluginRegistry {
  const builtins = builtinPlugins();
  const builtinNames = new Set(builtins.map((b) => b.name));
  const byRef = new Map<string, ResolvedPlugin>(builtins.map((b) => [b.ref, b]));
  for (const root of dirs) {
    let names: string[];
    try {
      names = readdirSync(root).sort();
    } catch {
      throw new PluginLoadError(root, 'plugins folder not found or not readable');
    }
    for (const folder of names) {
      if (folder.startsWith('.')) continue;
      const dir = join(root, folder);
      let isDir: boolean;
      try {
        isDir = statSync(dir).isDirectory();
      } catch {
        throw new PluginLoadError(dir, 'not readable (broken link?)');
      }
      if (!isDir) continue;
      if (builtinNames.has(folder)) {
        throw new PluginLoadError(dir, `"${folder}" is a built-in plugin name and cannot be shadowed`);
      }
      const p = loadOne(dir, folder);
      const prior = byRef.get(p.ref);
      if (prior && prior.hash !== p.hash) {
        throw new PluginLoadError(dir, `${p.ref} is also in ${prior.dir} with different content`);
      }
      if (!prior) byRef.set(p.ref, p);
    }
  }
  return createRegistry([...byRef.values()]);
}

function createRegistry(plugins: ResolvedPlugin[]): PluginRegistry {
  const sorted = [...plugins].sort((a, b) =>
    a.name !== b.name ? (a.name < b.name ? -1 : 1) : semver.rcompare(a.version, b.version),
  );
  const byRef = new Map(sorted.map((p) => [p.ref, p]));
  const latest = new Map<string, ResolvedPlugin>();
  for (const p of sorted) if (!latest.has(p.name)) latest.set(p.name, p);
  const resolve = (ref: string): ResolvedPlugin | undefined =>
    typeof ref === 'string' ? (ref.includes('@') ? byRef.get(ref) : latest.get(ref)) : undefined;
  return Object.freeze({
    resolve,
    has: (ref: string) => resolve(ref) !== undefined,
    list: () => [...sorted],
  });
}

/** A registry that can be loaded again from its folders (`/admin/warm`, bundle imports). */
export interface ReloadableRegistry extends PluginRegistry {
  /** Re-reads the folders; keeps the current plugins when the new load fails. Returns the count. */
  reload(): number;
}

/**
 * @example
 * const registry = reloadablePlugins([...config.pluginsDirs, join(dataDir, 'plugins')]);
 * registry.reload(); // after a bundle installed plugins
 */
export function reloadablePlugins(dirs: readonly string[]): ReloadableRegistry {
  let current = loadPlugins(dirs);
  return {
    resolve: (ref) => current.resolve(ref),
    has: (ref) => current.has(ref),
    list: () => current.list(),
    reload() {
      current = loadPlugins(dirs);
      return current.list().length;
    },
  };
}
