/**
 * Retention policies (CONTRACT §12): `{maxAgeDays, keepLast}` per tenant, else the
 * installation's default (`serve --retention-days N` = `{maxAgeDays: N, keepLast: null}`), else
 * off. A run is prunable when it has ended, is not among the newest `keepLast` ended runs of
 * its DAG, and ended more than `maxAgeDays` ago (`maxAgeDays` null with `keepLast` set: any
 * age, like 0). Both null: off. See docs/OPERATIONS.md.
 *
 * @example
 * const { policy } = await effectivePolicy(ports.retention, 'demo', { maxAgeDays: 30, keepLast: null });
 * isOff(policy) || cutoffMs(policy, Date.now());
 */
import type { RetentionPort } from '../store/index.js';

export interface RetentionPolicy {
  maxAgeDays: number | null;
  keepLast: number | null;
}

export const RETENTION_OFF: RetentionPolicy = Object.freeze({ maxAgeDays: null, keepLast: null });

export const DAY_MS = 86_400_000;

export function isOff(p: RetentionPolicy): boolean {
  return p.maxAgeDays === null && p.keepLast === null;
}

export interface EffectivePolicy {
  policy: RetentionPolicy;
  /** `tenant`: set by PUT /admin/retention; `installation`: the --retention-days default. */
  source: 'tenant' | 'installation';
  updatedMs?: number;
}

/** The policy that applies to a tenant. */
export async function effectivePolicy(retention: RetentionPort, tenant: string, installation: RetentionPolicy): Promise<EffectivePolicy> {
  const row = await retention.policy(tenant);
  if (row) return { policy: { maxAgeDays: row.maxAgeDays, keepLast: row.keepLast }, source: 'tenant', updatedMs: row.updatedMs };
  return { policy: installation, source: 'installation' };
}

/** Runs that ended before this instant are old enough to prune (MAX for "any age"). */
export function cutoffMs(p: RetentionPolicy, nowMs: number): number {
  return p.maxAgeDays === null ? Number.MAX_SAFE_INTEGER : nowMs - p.maxAgeDays * DAY_MS;
}
