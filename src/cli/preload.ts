import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { coerceError, TENANT_RE, type ApiError, parseJsonBounded } from '../core/index.js';
import { parseDag } from '../dags/model.js';
import type { DagService } from '../dags/service.js';
import { DEFAULT_BUNDLE_LIMITS, importBundle, type ScheduleInstaller } from '../bundles/index.js';

export interface PreloadReport {
  published: number;
  unchanged: number;
  failed: number;
  /** `.tgz` bundles verified and imported (their DAGs count in published/unchanged; a refused bundle counts once in failed). */
  bundles: number;
  /** `*.schedule.json` schedules created or replaced (a refused one counts in failed). */
  schedules: number;
}

export interface PreloadOptions {
  /**
   * Root of the tenant-owned plugin folders (`DATA/tenant-plugins`): a bundle's plugins go to
   * `<dir>/<tenant>/<name>@<version>/`. A bundle with plugins is refused without it.
   */
  tenantPluginsDir?: string;
  /** Called after a bundle installed plugins (the server reloads its registry, so what follows sees them). */
  onPluginsInstalled?(): void;
  /** Stops between files (SIGTERM during start-up): rejects with the signal's error. */
  signal?: Pick<AbortSignal, 'aborted' | 'throwIfAborted'>;
  /**
   * Stores `*.schedule.json` documents (after the tenant's DAGs and bundles; without it they are
   * skipped) and the schedules bundles carry (without it, straight into the store, unarmed).
   */
  schedules?: { preload(tenant: string, raw: unknown): Promise<'created' | 'replaced' | 'unchanged'> } & ScheduleInstaller;
}

/** Verifies and imports one bundle, all or nothing (src/bundles/import.ts). */
async function preloadBundle(file: string, tenant: string, dags: DagService, logger: Logger, report: PreloadReport, opts: PreloadOptions): Promise<void> {
  if (statSync(file).size > DEFAULT_BUNDLE_LIMITS.maxBundleBytes) {
    throw new Error(`bundle larger than ${DEFAULT_BUNDLE_LIMITS.maxBundleBytes} bytes`);
  }
  const r = await importBundle(readFileSync(file), { tenant, dags, tenantPluginsDir: opts.tenantPluginsDir, schedules: opts.schedules });
  report.bundles++;
  if (r.plugins.some((p) => p.installed)) opts.onPluginsInstalled?.();
  for (const d of r.dags) {
    if (d.created) report.published++;
    else report.unchanged++;
  }
  report.schedules += r.schedules.filter((s) => s.created).length;
  logger.info(
    { tenant, file, rootHash: r.rootHash, changed: r.changed, dags: r.dags.map((d) => `${d.dagId}@${d.version}`), schedules: r.schedules.map((s) => s.scheduleId), plugins: r.plugins.map((p) => `${p.name}@${p.version}`) },
    'preload: bundle',
  );
}

/**
 * Publishes `DIR/<tenant>/*.json` signed DAG documents into the tenant the folder names,
 * idempotently (an identical version already stored is left as it is). A file that fails is
 * logged with its reason and skipped; the others still load.
 * `DIR/<tenant>/*.tgz` offline bundles are verified and imported into the tenant the same
 * way (idempotently); a bundle that fails any check — not signed for that tenant, a plugin
 * that collides with one the tenant already resolves — is logged and installs nothing, and the
 * start-up goes on.
 * `DIR/<tenant>/*.schedule.json` schedule documents are stored after the tenant's DAGs and
 * bundles (so they can name them), signed under the same rules (docs/SCHEDULES.md).
 * Yields to the event loop between files, so a stop signal is seen between two files (each
 * file is all or nothing). A missing or unreadable DIR throws.
 *
 * @example
 * const report = await preloadDags('fixtures/dags', dags, logger, { signal });
 */
export async function preloadDags(dir: string, dags: DagService, logger: Logger, opts: PreloadOptions = {}): Promise<PreloadReport> {
  const report: PreloadReport = { published: 0, unchanged: 0, failed: 0, bundles: 0, schedules: 0 };
  for (const tenant of readdirSync(dir).sort()) {
    const tdir = join(dir, tenant);
    if (!statSync(tdir).isDirectory() || tenant.startsWith('_') || tenant.startsWith('.')) continue;
    if (!TENANT_RE.test(tenant)) {
      logger.warn({ dir: tdir }, 'preload: folder name is not a valid tenant id; skipped');
      continue;
    }
    const names = readdirSync(tdir).sort();
    for (const name of names) {
      await new Promise((r) => setImmediate(r));
      opts.signal?.throwIfAborted();
      const file = join(tdir, name);
      if (name.endsWith('.tgz')) {
        try {
          await preloadBundle(file, tenant, dags, logger, report, opts);
        } catch (e) {
          report.failed++;
          const err = coerceError(e);
          logger.error({ file, code: (e as ApiError).code, reason: err.message, details: (e as ApiError).details }, 'preload: bundle refused; nothing of it installed');
        }
        continue;
      }
      if (!name.endsWith('.json') || name.endsWith(SCHEDULE_SUFFIX)) continue;
      try {
        const doc = parseDag(parseJsonBounded(readFileSync(file, 'utf8'), 64));
        const { created, version } = await dags.publish(tenant, doc);
        if (created) report.published++;
        else report.unchanged++;
        logger.info({ tenant, dagId: version.dagId, version: version.version, created }, 'preload: DAG');
      } catch (e) {
        report.failed++;
        const err = coerceError(e);
        logger.error({ file, code: (e as ApiError).code, reason: err.message, details: (e as ApiError).details }, 'preload: DAG refused');
      }
    }
    for (const name of names.filter((n) => n.endsWith(SCHEDULE_SUFFIX))) {
      await new Promise((r) => setImmediate(r));
      opts.signal?.throwIfAborted();
      if (opts.schedules) await preloadSchedule(join(tdir, name), tenant, opts.schedules, logger, report);
    }
  }
  return report;
}

const SCHEDULE_SUFFIX = '.schedule.json';

async function preloadSchedule(file: string, tenant: string, schedules: NonNullable<PreloadOptions['schedules']>, logger: Logger, report: PreloadReport): Promise<void> {
  try {
    const outcome = await schedules.preload(tenant, parseJsonBounded(readFileSync(file, 'utf8'), 64));
    if (outcome !== 'unchanged') report.schedules++;
    logger.info({ tenant, file, outcome }, 'preload: schedule');
  } catch (e) {
    report.failed++;
    const err = coerceError(e);
    logger.error({ file, code: (e as ApiError).code, reason: err.message, details: (e as ApiError).details }, 'preload: schedule refused');
  }
}
