/**
 * Plugin folders in bundles: validation of `plugins/<name>/…` (the same rules as the plugin
 * loader, src/engine/plugins.ts, applied to the files in memory) and the content hash the
 * plugin will have once installed; reading a plugin folder from disk for `bundle create`.
 */
import { posix } from 'node:path';
import { parseJsonBounded } from '../core/json.js';
import { BUILTIN_NAMES, hashPluginFiles, PluginManifestSchema, type PluginFile, type PluginManifest } from '../engine/index.js';
import { BundleError } from './errors.js';

export type { PluginFile };
export { readPluginDir } from '../engine/index.js';

export interface BundlePlugin {
  name: string;
  version: string;
  manifest: PluginManifest;
  /** Sorted by path. */
  files: PluginFile[];
  /** The content hash the plugin has once installed (`engine/plugin-files.ts`). */
  hash: string;
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
  return { name, version: manifest.version, manifest, files: sorted, hash: hashPluginFiles(sorted) };
}
