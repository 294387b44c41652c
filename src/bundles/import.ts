/**
 * `importBundle`: verify, then install all or nothing, for one tenant (CONTRACT §8, §16).
 *
 * 1. `verifyBundle` for the tenant: the manifest and DAG signatures verify with keys trusted
 *    for it (installation-wide or its own trust sub-folder), and the signed manifest names it
 *    (`TENANT_MISMATCH`, `TENANT_UNBOUND`); hashes, layout, DAGs, plugin manifests.
 * 2. Plan, still touching nothing: each plugin is checked against every plugin the tenant
 *    resolves (operator plugins and its own) and against its install folder: the same
 *    name@version with other content is `PLUGIN_CONFLICT`, identical content is fine; each DAG
 *    is fully validated and pinned as the tenant will see the plugins (the installed ones plus
 *    the bundle's) and checked against the stored versions (`DAG_VERSION_EXISTS`).
 * 3. New plugins are copied (install-plugins.ts) into a staging folder inside the tenant's plugin folder
 *    (`.bundle-staging-*`, skipped by the plugin loader, swept by the next import) and renamed
 *    into place as `<tenant plugins dir>/<tenant>/<name>@<version>/`.
 * 4. Every DAG is published into the tenant in ONE store transaction, and after them, in the
 *    same transaction, every schedule is stored (it may name the bundle's DAGs): created, or
 *    left unchanged when the same normal form is stored, or refused (`SCHEDULE_EXISTS`) when
 *    the id holds another definition; a schedule naming no DAG of the tenant is `DAG_INVALID`.
 *    If anything fails, the transaction rolls back and the plugin folders renamed in step 3
 *    are removed again: nothing of the bundle stays.
 *
 * Importing the same bundle again changes nothing (`changed: false`).
 */
import { join } from 'node:path';
import { ApiError } from '../core/errors.js';
import { TENANT_RE } from '../core/ids.js';
import { dagCanonicalJson } from '../dags/canonical.js';
import type { TrustStore } from '../dags/keys.js';
import { checkPlugins, type DagService } from '../dags/service.js';
import { PlanCache } from '../engine/index.js';
import { installSchedule, type IncomingSchedule } from '../schedules/install.js';
import type { Store } from '../store/index.js';
import { BundleError } from './errors.js';
import type { BundleLimits } from './limits.js';
import { installPlugins, planPlugins, withBundlePlugins, type InstalledPlugin } from './install-plugins.js';
import { verifyBundle, type VerifiedBundle } from './verify.js';

export type { InstalledPlugin };

export interface ImportOptions {
  tenant: string;
  dags: DagService;
  /** Keys for the bundle and DAG signatures (those trusted for the tenant are used). Default: the DagService's. */
  trust?: TrustStore;
  /** The plugins a tenant resolves now (operator ones and its own). Default: the DagService's `resolvePlugin`. */
  resolvePlugin?(tenant: string, ref: string): InstalledPlugin | undefined;
  /**
   * Root of the tenant-owned plugin folders: plugins go to `<dir>/<tenant>/<name>@<version>/`.
   * Required when the bundle carries plugins (the server's is `DATA/tenant-plugins`).
   */
  tenantPluginsDir?: string;
  /**
   * Stores the bundle's schedules. Default: straight into the DagService's store (offline
   * `bundle import`: the server arms them when it starts). The server passes its
   * ScheduleService, whose `committed` arms the new ones at once.
   */
  schedules?: ScheduleInstaller;
  limits?: Partial<BundleLimits>;
  onProgress?(message: string): void;
}

/** Where an import stores schedules (`ScheduleService` is one). */
export interface ScheduleInstaller {
  /** Inside the import's transaction, after its DAGs: created, unchanged, or throws (SCHEDULE_EXISTS, DAG_INVALID…). */
  install(tenant: string, incoming: IncomingSchedule): { created: boolean };
  /** After the commit, with the ids it created. */
  committed?(tenant: string, scheduleIds: readonly string[]): void;
}

export interface ImportReport {
  tenant: string;
  bundleSha256: string;
  rootHash: string;
  signedBy: string[];
  /** False when the bundle was already fully installed. */
  changed: boolean;
  dags: Array<{ dagId: string; version: string; hash: string; created: boolean }>;
  schedules: Array<{ scheduleId: string; created: boolean }>;
  plugins: Array<{ name: string; version: string; contentHash: string; installed: boolean }>;
}

function withPath(e: unknown, path: string): unknown {
  if (e instanceof ApiError && !(e instanceof BundleError)) {
    return new ApiError(e.code, `${path}: ${e.message}`, { ...(e.details ?? {}), path });
  }
  return e;
}

/**
 * Verifies a bundle and installs it into `tenant`, all or nothing (see the module comment).
 * Throws `BundleError` for a bad bundle or one not for this tenant,
 * `ApiError('DAG_INVALID' | 'DAG_VERSION_EXISTS')` (with `details.path`) for a DAG the
 * installation refuses, `ApiError('VALIDATION_FAILED')` for a bad tenant id.
 *
 * @example
 * const report = importBundle(readFileSync('b.tgz'), { tenant: 'demo', dags, tenantPluginsDir: 'data/tenant-plugins' });
 */
export function importBundle(bytes: Uint8Array, opts: ImportOptions): ImportReport {
  if (!TENANT_RE.test(opts.tenant)) {
    throw new ApiError('VALIDATION_FAILED', `invalid tenant id ${JSON.stringify(opts.tenant)}`, { field: 'tenant' });
  }
  const deps = opts.dags.deps;
  // The DagService's own store: its publish must join this transaction (a savepoint).
  const store: Store = deps.store;
  const trust = opts.trust ?? deps.trust;
  const installed = opts.resolvePlugin ?? deps.resolvePlugin;
  const tenant = opts.tenant;
  const v: VerifiedBundle = verifyBundle(bytes, trust, { tenant, limits: opts.limits, onProgress: opts.onProgress });

  opts.onProgress?.('checking against the installation');
  const newPlugins = planPlugins(v.plugins, tenant, installed, opts.tenantPluginsDir);
  const resolve = withBundlePlugins(v.plugins, (ref) => installed(tenant, ref));
  const planned = v.dags.map((d) => {
    let pluginPins: string;
    try {
      pluginPins = checkPlugins(d.doc, resolve);
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
    return { d, checked: { hash: d.hash, definition: dagCanonicalJson(d.doc), signedBy: d.signedBy, pluginPins } };
  });

  if (newPlugins.length) opts.onProgress?.(`installing ${newPlugins.length} plugin(s) for tenant ${tenant}`);
  const undoPlugins = installPlugins(newPlugins, join(opts.tenantPluginsDir ?? '', tenant));
  const schedules = opts.schedules ?? { install: (t: string, s: IncomingSchedule) => installSchedule({ store, clock: deps.clock, plans: new PlanCache() }, t, s) };
  let published: Array<{ dagId: string; version: string; hash: string; created: boolean }>;
  let stored: Array<{ scheduleId: string; created: boolean }>;
  try {
    opts.onProgress?.(`publishing ${planned.length} DAG(s) and ${v.schedules.length} schedule(s) into tenant ${opts.tenant}`);
    [published, stored] = store.tx(() => [
      planned.map(({ d, checked }) => {
        try {
          const { created } = opts.dags.publish(opts.tenant, d.doc, checked);
          return { dagId: d.doc.dagId, version: d.doc.version, hash: d.hash, created };
        } catch (e) {
          throw withPath(e, d.path);
        }
      }),
      v.schedules.map((s) => {
        try {
          return { scheduleId: s.scheduleId, created: schedules.install(tenant, s.incoming).created };
        } catch (e) {
          throw withPath(e, s.path);
        }
      }),
    ] as const);
  } catch (e) {
    undoPlugins();
    throw e;
  }
  const createdSchedules = stored.filter((s) => s.created).map((s) => s.scheduleId);
  if (createdSchedules.length > 0) schedules.committed?.(tenant, createdSchedules);
  const fresh = new Set(newPlugins.map((p) => p.name));
  return {
    tenant: opts.tenant,
    bundleSha256: v.bundleSha256,
    rootHash: v.rootHash,
    signedBy: v.signedBy,
    changed: fresh.size > 0 || published.some((p) => p.created) || createdSchedules.length > 0,
    dags: published,
    schedules: stored,
    plugins: v.plugins.map((p) => ({ name: p.name, version: p.version, contentHash: p.hash, installed: fresh.has(p.name) })),
  };
}
