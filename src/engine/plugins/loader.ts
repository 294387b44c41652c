/**
 * Reading plugin folders (see `plugins.ts` for the sources and their rules): one folder into a
 * {@link ResolvedPlugin}, and a {@link Loader} that collects the installation-wide plugins
 * (strictly or leniently) and each tenant's own.
 */
import { readdirSync, realpathSync, readFileSync, statSync } from 'node:fs';
import { join, relative, isAbsolute, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { canonicalHash } from '../../core/hash.js';
import { TENANT_RE } from '../../core/ids.js';
import { VERSION } from '../../core/runtime.js';
import { BUILTIN_PLUGINS } from '../builtins/names.js';
import { hashPluginDir } from './files.js';
import { NAME_RE, PluginLoadError, PluginManifestSchema, type PluginManifest, type ResolvedPlugin } from './manifest.js';

function builtinPlugins(): ResolvedPlugin[] {
  return BUILTIN_PLUGINS.map(({ name, description, inputsSchema }) => ({
    name,
    version: VERSION,
    ref: `${name}@${VERSION}`,
    hash: canonicalHash({ builtin: name, version: VERSION }),
    builtin: true,
    owner: null,
    description,
    inputsSchema: structuredClone(inputsSchema) as Record<string, unknown>,
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

/** Collects plugins; `warnings` holds the problems of lenient folders. */
export class Loader {
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

