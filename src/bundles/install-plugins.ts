/**
 * A bundle's plugins for one tenant (steps 2 and 3 of `importBundle`): which are new, which
 * conflict with what the tenant resolves or with their install folder, how DAGs resolve once
 * they are in, and the durable install (staging folder, fsync, rename into place) with its undo.
 *
 * @example
 * const fresh = planPlugins(bundle.plugins, 'demo', resolvePlugin, 'data/tenant-plugins');
 * const undo = installPlugins(fresh, 'data/tenant-plugins/demo'); // undo() if the transaction fails
 */
import { fsyncSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import semver from 'semver';
import { splitPluginRef } from '../dags/model.js';
import type { PinnablePlugin } from '../dags/pins.js';
import { hashPluginDir } from '../engine/index.js';
import { BundleError } from './errors.js';
import type { BundlePlugin } from './plugins.js';

/** A plugin the tenant resolves now; `owner` null for an installation-wide one. */
export type InstalledPlugin = PinnablePlugin & { owner?: string | null };

/**
 * Resolution as the tenant will see the plugins once the bundle is in: the bundle's plugins and
 * those installed, a bare name naming the highest version of either (the installed one on a
 * tie: the plan refused any name@version of other content).
 */
export function withBundlePlugins(plugins: readonly BundlePlugin[], installed: (ref: string) => PinnablePlugin | undefined): (ref: string) => PinnablePlugin | undefined {
  return (ref) => {
    const { name, version } = splitPluginRef(ref);
    const own = plugins.find((p) => p.name === name && (version === undefined || p.version === version));
    const mine = own && { name: own.name, version: own.version, hash: own.hash, builtin: false, inputsSchema: own.manifest.inputsSchema };
    const base = installed(ref);
    if (!base || !mine) return base ?? mine;
    return semver.gte(base.version, mine.version) ? base : mine;
  };
}

function writeFileDurable(path: string, data: Buffer): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not supported everywhere (e.g. Windows); the rename itself is still atomic */
  }
}

function conflict(p: BundlePlugin, where: string): BundleError {
  return new BundleError('PLUGIN_CONFLICT', `plugin ${p.name}@${p.version} is already installed ${where} with different content`, {
    path: `plugins/${p.name}/`,
    plugin: `${p.name}@${p.version}`,
  });
}

/**
 * Which plugins are new for the tenant. Throws PLUGIN_CONFLICT for one whose name@version the
 * tenant already resolves, or whose install folder already exists, with other content.
 */
export function planPlugins(
  plugins: readonly BundlePlugin[],
  tenant: string,
  installed: (tenant: string, ref: string) => InstalledPlugin | undefined,
  root: string | undefined,
): BundlePlugin[] {
  if (plugins.length === 0) return [];
  if (!root) {
    throw new BundleError('PLUGINS_DIR_REQUIRED', `the bundle carries ${plugins.length} plugin(s) but no plugins folder was given to install them into`, {
      plugins: plugins.map((p) => p.name),
    });
  }
  const fresh: BundlePlugin[] = [];
  for (const p of plugins) {
    const seen = installed(tenant, `${p.name}@${p.version}`);
    if (seen && seen.hash !== p.hash) {
      throw conflict(p, seen.owner ? `for tenant ${seen.owner}` : 'as an installation-wide plugin');
    }
    const target = join(root, tenant, `${p.name}@${p.version}`);
    if (!existsSync(target)) {
      fresh.push(p);
      continue;
    }
    let same = false;
    try {
      same = lstatSync(target).isDirectory() && hashPluginDir(target) === p.hash;
    } catch {
      same = false;
    }
    if (!same) throw conflict(p, `in ${target}`);
  }
  return fresh;
}

/**
 * Copies plugins into a staging folder and renames them into place; returns the undo, which
 * removes them again (and the tenant's plugin folder when this import created it). Any failure
 * here undoes itself: nothing half-written stays.
 */
export function installPlugins(plugins: readonly BundlePlugin[], pluginsDir: string): () => void {
  if (plugins.length === 0) return () => undefined;
  const created = !existsSync(pluginsDir);
  const installed: string[] = [];
  const undo = () => {
    for (const dir of installed) rmSync(dir, { recursive: true, force: true });
    if (created) rmSync(pluginsDir, { recursive: true, force: true });
  };
  mkdirSync(pluginsDir, { recursive: true });
  // A crash during an earlier import may have left a staging folder: never loaded, swept here.
  for (const name of readdirSync(pluginsDir)) {
    if (name.startsWith('.bundle-staging-')) rmSync(join(pluginsDir, name), { recursive: true, force: true });
  }
  let staging: string | undefined;
  try {
    staging = mkdtempSync(join(pluginsDir, '.bundle-staging-'));
    for (const p of plugins) {
      for (const f of p.files) {
        const dest = join(staging, `${p.name}@${p.version}`, ...f.path.split('/'));
        mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
        writeFileDurable(dest, f.data);
      }
    }
    fsyncDir(staging);
    for (const p of plugins) {
      const folder = `${p.name}@${p.version}`;
      const target = join(pluginsDir, folder);
      renameSync(join(staging, folder), target);
      installed.push(target);
    }
    fsyncDir(pluginsDir);
    return undo;
  } catch (e) {
    undo();
    throw e;
  } finally {
    if (staging) rmSync(staging, { recursive: true, force: true });
  }
}
