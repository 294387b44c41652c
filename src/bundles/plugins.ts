/**
 * Plugin folders in bundles: validation of `plugins/<name>/…` (the same rules as the plugin
 * loader, src/engine/plugins.ts, applied to the files in memory), reading a plugin folder from
 * disk for `bundle create`, and comparing an installed folder with a bundled one.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parseJsonBounded } from '../core/json.js';
import { BUILTIN_NAMES } from '../engine/builtins/names.js';
import { PluginManifestSchema, type PluginManifest } from '../engine/plugins.js';
import { BundleError } from './errors.js';

export interface PluginFile {
  /** Path relative to the plugin folder (`/`-separated). */
  path: string;
  data: Buffer;
}

export interface BundlePlugin {
  name: string;
  version: string;
  manifest: PluginManifest;
  /** Sorted by path. */
  files: PluginFile[];
}

/**
 * Checks a plugin folder's files: a valid `plugin.json` whose `name` is the folder's name
 * (not a built-in), and whose `entry` is one of the files. Throws `BundleError('PLUGIN_INVALID')`.
 *
 * @example
 * checkPlugin('digest-manifest', files) // { name: 'digest-manifest', version: '1.0.0', … }
 */
export function checkPlugin(name: string, files: readonly PluginFile[]): BundlePlugin {
  const at = `plugins/${name}/plugin.json`;
  const fail = (message: string): never => {
    throw new BundleError('PLUGIN_INVALID', `${at}: ${message}`, { path: at, plugin: name });
  };
  if (BUILTIN_NAMES.includes(name)) fail(`"${name}" is a built-in plugin name and cannot be shadowed`);
  const manifestFile = files.find((f) => f.path === 'plugin.json');
  if (!manifestFile) fail('missing');
  let raw: unknown;
  try {
    raw = parseJsonBounded(manifestFile!.data.toString('utf8'), 32);
  } catch {
    fail('not valid JSON');
  }
  const parsed = PluginManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const manifest = parsed.data!;
  if (manifest.name !== name) fail(`name "${manifest.name}" must match its folder "${name}"`);
  const entry = posix.normalize(manifest.entry);
  if (manifest.entry.startsWith('/') || entry.startsWith('../') || entry === '..' || entry === '.') {
    fail('entry must be a path inside the plugin folder');
  }
  if (!files.some((f) => f.path === entry)) fail(`entry ${manifest.entry} is not in the plugin folder`);
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { name, version: manifest.version, manifest, files: sorted };
}

/**
 * Every regular file under `dir` (recursively), with `/`-separated relative paths, sorted.
 * A symlink or any other special file is refused (an Error naming it): bundles carry files only.
 */
export function readPluginDir(dir: string): PluginFile[] {
  const out: PluginFile[] = [];
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const p = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) throw new Error(`${p}: symlinks cannot be bundled`);
      if (st.isDirectory()) walk(p, r);
      else if (st.isFile()) out.push({ path: r, data: readFileSync(p) });
      else throw new Error(`${p}: only regular files and folders can be bundled`);
    }
  };
  walk(dir, '');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** True when the installed folder holds exactly the plugin's files, byte for byte. */
export function sameFiles(installed: readonly PluginFile[], bundled: readonly PluginFile[]): boolean {
  if (installed.length !== bundled.length) return false;
  const byPath = new Map(installed.map((f) => [f.path, f.data]));
  return bundled.every((f) => byPath.get(f.path)?.equals(f.data) === true);
}
