import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { coerceError, TENANT_RE, ApiError, parseJsonBounded } from '../core/index.js';
import { dagDocumentSchema } from '../dags/model.js';
import type { DagService } from '../dags/service.js';

export interface PreloadReport {
  published: number;
  unchanged: number;
  failed: number;
}

/**
 * Publishes `DIR/<tenant>/*.json` signed DAG documents into the tenant the folder names,
 * idempotently (an identical version already stored is left as it is). A file that fails is
 * logged with its reason and skipped; the others still load.
 */
export function preloadDags(dir: string, dags: DagService, logger: Logger): PreloadReport {
  const report: PreloadReport = { published: 0, unchanged: 0, failed: 0 };
  for (const tenant of readdirSync(dir).sort()) {
    const tdir = join(dir, tenant);
    if (!statSync(tdir).isDirectory()) continue;
    if (!TENANT_RE.test(tenant)) {
      logger.warn({ dir: tdir }, 'preload: folder name is not a valid tenant id; skipped');
      continue;
    }
    for (const name of readdirSync(tdir).sort()) {
      if (!name.endsWith('.json')) continue;
      const file = join(tdir, name);
      try {
        const raw = parseJsonBounded(readFileSync(file, 'utf8'), 64);
        const parsed = dagDocumentSchema.safeParse(raw);
        if (!parsed.success) throw new ApiError('VALIDATION_FAILED', parsed.error.issues[0]?.message ?? 'invalid');
        const { created, version } = dags.publish(tenant, parsed.data);
        if (created) report.published++;
        else report.unchanged++;
        logger.info({ tenant, dagId: version.dagId, version: version.version, created }, 'preload: DAG');
      } catch (e) {
        report.failed++;
        const err = coerceError(e);
        logger.error({ file, code: (e as ApiError).code, reason: err.message, details: (e as ApiError).details }, 'preload: DAG refused');
      }
    }
  }
  return report;
}
