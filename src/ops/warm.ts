/**
 * `POST /admin/warm`: compiles the plans of every active DAG version into the plan cache,
 * (re)loads plugins when the registry can, and starts the worker pool — so the first run after
 * a deploy does not pay for any of it.
 *
 * @example
 * const r = await warm({ catalog, plugins, pool, logger });
 * // { warmed: { plans: 3, plugins: 7, workers: 4 }, durationMs: 41 }
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { ApiError } from '../core/errors.js';
import type { DagContent } from '../dags/model.js';
import { compilePlan } from '../dags/plan.js';
import type { DagCatalog, PlanWarmer, PluginSource, PoolLike } from './types.js';

export interface WarmSources {
  catalog: DagCatalog;
  /** The scheduler's plan cache; without it, plans are only compiled (checked). */
  plans?: PlanWarmer;
  plugins?: PluginSource;
  pool?: PoolLike;
  logger: Logger;
}

export interface WarmResult {
  warmed: { plans: number; plugins: number; workers: number };
  durationMs: number;
  /** Parts that could not be warmed (details in the server log, never paths in the answer). */
  errors?: Array<{ part: 'plans' | 'plugins'; message: string }>;
}

export async function warm(src: WarmSources): Promise<WarmResult> {
  const start = performance.now();
  const errors: NonNullable<WarmResult['errors']> = [];
  const hashes = new Set<string>();
  let broken = 0;
  for (const v of await src.catalog.activeVersions()) {
    if (hashes.has(v.hash)) continue;
    try {
      if (src.plans) src.plans.forRow(v);
      else compilePlan(JSON.parse(v.definition) as DagContent, v.hash);
      hashes.add(v.hash);
    } catch (err) {
      broken++;
      src.logger.warn({ err, dagHash: v.hash }, 'warm: a stored DAG version does not compile');
    }
  }
  if (broken > 0) errors.push({ part: 'plans', message: `${broken} stored DAG version(s) did not compile (see the server log)` });

  let plugins = 0;
  if (src.plugins) {
    try {
      plugins = src.plugins.reload ? await src.plugins.reload() : src.plugins.list().length;
    } catch (err) {
      // The registry keeps what it had; the error names files, so it goes to the log only.
      src.logger.error({ err }, 'warm: reloading plugins failed; the loaded plugins are kept');
      plugins = src.plugins.list().length;
      errors.push({ part: 'plugins', message: 'reloading the plugin folders failed; the loaded plugins are kept (see the server log)' });
    }
  }

  let workers = 0;
  if (src.pool) {
    try {
      await src.pool.start();
    } catch (err) {
      src.logger.error({ err }, 'warm: the worker pool could not start');
      throw new ApiError('UNAVAILABLE', 'the worker pool could not start', undefined, { retryAfterSeconds: 5 });
    }
    workers = src.pool.stats().ready;
  }
  return {
    warmed: { plans: hashes.size, plugins, workers },
    durationMs: Math.round(performance.now() - start),
    ...(errors.length > 0 ? { errors } : {}),
  };
}
