/**
 * `importBundle`: verify, then install all or nothing.
 *
 * 1. `verifyBundle` (signature, hashes, layout, DAG signatures, plugin manifests).
 * 2. Plan, still touching nothing: each plugin folder is new, or already installed with
 *    identical files (fine), or installed with other content (`PLUGIN_CONFLICT`); each DAG is
 *    fully validated (plugins known to the installation or carried by the bundle) and checked
 *    against the stored versions (`DAG_VERSION_EXISTS` for other content under the same
 *    dagId@version).
 * 3. New plugins are copied into a staging folder inside the plugins folder
 *    (`.bundle-staging-*`, skipped by the plugin loader) and renamed into place.
 * 4. Every DAG is published into the tenant in ONE store transaction. If that fails, the
 *    plugin folders renamed in step 3 are removed again: nothing of the bundle stays.
 *
 * Importing the same bundle again changes nothing (`changed: false`).
 */
import { fsyncSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiError } from '../core/errors.js';
import { TENANT_RE } from '../core/ids.js';
import { dagCanonicalJson } from '../dags/canonical.js';
import type { TrustStore } from '../dags/keys.js';
import { splitPluginRef } from '../dags/model.js';
import type { DagService } from '../dags/service.js';
import { validateDag } from '../dags/validate.js';
import type { Store } from '../store/index.js';
import { BundleError } from './errors.js';
import type { BundleLimits } from './limits.js';
import { readPluginDir, sameFiles, type BundlePlugin } from './plugins.js';
import { verifyBundle, type VerifiedBundle } from './verify.js';

export interface ImportOptions {
  tenant: string;
  dags: DagService;
  /** Keys trusted for the bundle and DAG signatures. Default: the DagService's trust store. */
  trust?: TrustStore;
  /** Plugins installed besides the bundle's own. Default: the DagService's `pluginExists`. */
  pluginExists?(nameOrNameAtVersion: string): boolean;
  /** Where plugin folders are installed; required when the bundle carries plugins. */
  pluginsDir?: string;
  limits?: Partial<BundleLimits>;
  onProgress?(message: string): void;
}

export interface ImportReport {
  tenant: string;
  bundleSha256: string;
  rootHash: string;
  signedBy: string[];
  /** False when the bundle was already fully installed. */
  changed: boolean;
  dags: Array<{ dagId: string; version: string; hash: string; created: boolean }>;
  plugins: Array<{ name: string; version: string; installed: boolean }>;
}

function withPath(e: unknown, path: string): unknown {
  if (e instanceof ApiError && !(e instanceof BundleError)) {
    return new ApiError(e.code, `${path}: ${e.message}`, { ...(e.details ?? {}), path });
  }
  return e;
}

function bundlePluginExists(plugins: readonly BundlePlugin[], ref: string): boolean {
  const { name, version } = splitPluginRef(ref);
  return plugins.some((p) => p.name === name && (version === undefined || p.version === version));
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

/** Which plugins are new; throws PLUGIN_CONFLICT for one installed with other content. */
function planPlugins(plugins: readonly BundlePlugin[], pluginsDir: string | undefined): BundlePlugin[] {
  if (plugins.length === 0) return [];
  if (!pluginsDir) {
    throw new BundleError('PLUGINS_DIR_REQUIRED', `the bundle carries ${plugins.length} plugin(s) but no plugins folder was given to install them into`, {
      plugins: plugins.map((p) => p.name),
    });
  }
  const fresh: BundlePlugin[] = [];
  for (const p of plugins) {
    const target = join(pluginsDir, p.name);
    if (!existsSync(target)) {
      fresh.push(p);
      continue;
    }
    let same = false;
    try {
      same = lstatSync(target).isDirectory() && sameFiles(readPluginDir(target), p.files);
    } catch {
      same = false;
    }
    if (!same) {
      throw new BundleError('PLUGIN_CONFLICT', `plugin ${p.name} is already installed in ${target} with different content`, {
        path: `plugins/${p.name}/`,
        plugin: p.name,
      });
    }
  }
  return fresh;
}

/** Copies plugins into a staging folder and renames them into place; returns what to undo. */
function installPlugins(plugins: readonly BundlePlugin[], pluginsDir: string): string[] {
  const installed: string[] = [];
  if (plugins.length === 0) return installed;
  mkdirSync(pluginsDir, { recursive: true });
  const staging = mkdtempSync(join(pluginsDir, '.bundle-staging-'));
  try {
    for (const p of plugins) {
      for (const f of p.files) {
        const dest = join(staging, p.name, ...f.path.split('/'));
        mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
        writeFileDurable(dest, f.data);
      }
    }
    fsyncDir(staging);
    try {
      for (const p of plugins) {
        const target = join(pluginsDir, p.name);
        renameSync(join(staging, p.name), target);
        installed.push(target);
      }
    } catch (e) {
      for (const dir of installed) rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    fsyncDir(pluginsDir);
    return installed;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Verifies a bundle and installs it into `tenant`, all or nothing (see the module comment).
 * Throws `BundleError` for a bad bundle, `ApiError('DAG_INVALID' | 'DAG_VERSION_EXISTS')`
 * (with `details.path`) for a DAG the installation refuses, `ApiError('VALIDATION_FAILED')`
 * for a bad tenant id.
 *
 * @example
 * const report = importBundle(readFileSync('b.tgz'), { tenant: 'demo', dags, pluginsDir: './plugins' });
 */
export function importBundle(bytes: Uint8Array, opts: ImportOptions): ImportReport {
  if (!TENANT_RE.test(opts.tenant)) {
    throw new ApiError('VALIDATION_FAILED', `invalid tenant id ${JSON.stringify(opts.tenant)}`, { field: 'tenant' });
  }
  const deps = opts.dags.deps;
  // The DagService's own store: its publish must join this transaction (a savepoint).
  const store: Store = deps.store;
  const trust = opts.trust ?? deps.trust;
  const baseExists = opts.pluginExists ?? deps.pluginExists;
  const v: VerifiedBundle = verifyBundle(bytes, trust, { limits: opts.limits, onProgress: opts.onProgress });

  opts.onProgress?.('checking against the installation');
  const newPlugins = planPlugins(v.plugins, opts.pluginsDir);
  const pluginExists = (ref: string) => bundlePluginExists(v.plugins, ref) || baseExists(ref);
  const planned = v.dags.map((d) => {
    try {
      validateDag(d.doc, { pluginExists });
      const existing = store.dags.get(opts.tenant, d.doc.dagId, d.doc.version);
      if (existing && existing.hash !== d.hash) {
        throw new ApiError('DAG_VERSION_EXISTS', `${d.doc.dagId}@${d.doc.version} exists with different content`, {
          dagId: d.doc.dagId,
          version: d.doc.version,
          hash: existing.hash,
        });
      }
    } catch (e) {
      throw withPath(e, d.path);
    }
    return { d, checked: { hash: d.hash, definition: dagCanonicalJson(d.doc), signedBy: d.signedBy } };
  });

  if (newPlugins.length) opts.onProgress?.(`installing ${newPlugins.length} plugin(s)`);
  const installed = installPlugins(newPlugins, opts.pluginsDir ?? '');
  let published: Array<{ dagId: string; version: string; hash: string; created: boolean }>;
  try {
    opts.onProgress?.(`publishing ${planned.length} DAG(s) into tenant ${opts.tenant}`);
    published = store.tx(() =>
      planned.map(({ d, checked }) => {
        try {
          const { created } = opts.dags.publish(opts.tenant, d.doc, checked);
          return { dagId: d.doc.dagId, version: d.doc.version, hash: d.hash, created };
        } catch (e) {
          throw withPath(e, d.path);
        }
      }),
    );
  } catch (e) {
    for (const dir of installed) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const fresh = new Set(newPlugins.map((p) => p.name));
  return {
    tenant: opts.tenant,
    bundleSha256: v.bundleSha256,
    rootHash: v.rootHash,
    signedBy: v.signedBy,
    changed: fresh.size > 0 || published.some((p) => p.created),
    dags: published,
    plugins: v.plugins.map((p) => ({ name: p.name, version: p.version, installed: fresh.has(p.name) })),
  };
}
