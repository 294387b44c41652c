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
 * 4. Every DAG is published into the tenant in ONE transaction through the storage ports (either
 *    store), and after them, in the same transaction, every schedule is stored (it may name the bundle's DAGs): created, or
 *    left unchanged when the same normal form is stored, or refused (`SCHEDULE_EXISTS`) when
 *    the id holds another definition; a schedule naming no DAG of the tenant is `DAG_INVALID`.
 *    If anything fails, the transaction rolls back and the plugin folders renamed in step 3
 *    are removed again: nothing of the bundle stays. Once it committed, its events
 *    (`dag.published`, `schedule.created`) go to the live stream.
 *
 * Importing the same bundle again changes nothing (`changed: false`).
 */
import { join } from 'node:path';
import { ApiError } from '../core/errors.js';
import { TENANT_RE } from '../core/ids.js';
import { dagCanonicalJson } from '../dags/canonical.js';
import type { TrustStore } from '../dags/keys.js';
import { checkPlugins, type CheckedDag, type DagService } from '../dags/service.js';
import { PlanCache } from '../engine/index.js';
import { installSchedule, type IncomingSchedule } from '../schedules/install.js';
import type { EventRow, Ports } from '../store/index.js';
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
  /** Inside the import's transaction (`tx`), after its DAGs: created (with its event), unchanged, or throws (SCHEDULE_EXISTS, DAG_INVALID…). */
  install(tx: Ports, tenant: string, incoming: IncomingSchedule): Promise<{ created: boolean; event?: EventRow }>;
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
 * const report = await importBundle(readFileSync('b.tgz'), { tenant: 'demo', dags, tenantPluginsDir: 'data/tenant-plugins' });
 */
export async function importBundle(bytes: Uint8Array, opts: ImportOptions): Promise<ImportReport> {
  if (!TENANT_RE.test(opts.tenant)) {
    throw new ApiError('VALIDATION_FAILED', `invalid tenant id ${JSON.stringify(opts.tenant)}`, { field: 'tenant' });
  }
  const deps = opts.dags.deps;
  // The DagService's own store: its publishes and the schedules share this import's transaction.
  const { ports } = deps;
  const trust = opts.trust ?? deps.trust;
  const installed = opts.resolvePlugin ?? deps.resolvePlugin;
  const tenant = opts.tenant;
  const v: VerifiedBundle = verifyBundle(bytes, trust, { tenant, limits: opts.limits, onProgress: opts.onProgress });

  opts.onProgress?.('checking against the installation');
  const newPlugins = planPlugins(v.plugins, tenant, installed, opts.tenantPluginsDir);
  const resolve = withBundlePlugins(v.plugins, (ref) => installed(tenant, ref));
  const planned: Array<{ d: VerifiedBundle['dags'][number]; checked: CheckedDag }> = [];
  for (const d of v.dags) {
    let pluginPins: string;
    try {
      pluginPins = checkPlugins(d.doc, resolve);
      const existing = await ports.catalog.getVersion(tenant, d.doc.dagId, d.doc.version);
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
    planned.push({ d, checked: { hash: d.hash, definition: dagCanonicalJson(d.doc), signedBy: d.signedBy, pluginPins } });
  }

  if (newPlugins.length) opts.onProgress?.(`installing ${newPlugins.length} plugin(s) for tenant ${tenant}`);
  const undoPlugins = installPlugins(newPlugins, join(opts.tenantPluginsDir ?? '', tenant));
  const schedules: ScheduleInstaller = opts.schedules ?? { install: (tx, t, s) => installSchedule({ clock: deps.clock, plans: new PlanCache() }, tx, t, s) };
  const events: EventRow[] = [];
  let published: Array<{ dagId: string; version: string; hash: string; created: boolean }>;
  let stored: Array<{ scheduleId: string; created: boolean }>;
  try {
    opts.onProgress?.(`publishing ${planned.length} DAG(s) and ${v.schedules.length} schedule(s) into tenant ${tenant}`);
    [published, stored] = await ports.transaction(async (tx) => {
      const dags: typeof published = [];
      for (const { d, checked } of planned) {
        try {
          const r = await opts.dags.publishIn(tx, tenant, d.doc, checked);
          events.push(...r.events);
          dags.push({ dagId: d.doc.dagId, version: d.doc.version, hash: d.hash, created: r.created });
        } catch (e) {
          throw withPath(e, d.path);
        }
      }
      const installedSchedules: typeof stored = [];
      for (const s of v.schedules) {
        try {
          const r = await schedules.install(tx, tenant, s.incoming);
          if (r.event) events.push(r.event);
          installedSchedules.push({ scheduleId: s.scheduleId, created: r.created });
        } catch (e) {
          throw withPath(e, s.path);
        }
      }
      return [dags, installedSchedules] as const;
    });
  } catch (e) {
    undoPlugins();
    throw e;
  }
  opts.dags.announce(events);
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
