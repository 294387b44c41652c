/**
 * `/admin/retention`, `/admin/retention:apply`, `/admin/backup` (CONTRACT §12;
 * docs/OPERATIONS.md). Retention policies are per tenant (`X-Stella-Tenant`); a pass acts on the
 * token's tenants; a backup is of the whole installation, so it needs a token for all tenants.
 */
import { z } from 'zod';
import { ApiError } from '../../core/index.js';
import type { LifecycleService } from '../../lifecycle/index.js';
import { component } from '../components.js';
import { defineRoute } from '../route.js';

declare module '../deps.js' {
  interface Services {
    lifecycle: LifecycleService;
  }
}

const Days = z.number().int().min(0).max(36_500).nullable();
const Keep = z.number().int().min(0).max(1_000_000).nullable();

const PolicyBody = component('RetentionPolicy', z.strictObject({ maxAgeDays: Days, keepLast: Keep }).meta({ examples: [{ maxAgeDays: 90, keepLast: 20 }] }));

const PolicyView = z.object({
  tenant: z.string(),
  maxAgeDays: Days,
  keepLast: Keep,
  /** `tenant`: set for this tenant; `installation`: the --retention-days default. */
  source: z.enum(['tenant', 'installation']),
  enabled: z.boolean(),
});

function view(tenant: string, e: Awaited<ReturnType<LifecycleService['policyOf']>>): z.infer<typeof PolicyView> {
  const { maxAgeDays, keepLast } = e.policy;
  return { tenant, maxAgeDays, keepLast, source: e.source, enabled: maxAgeDays !== null || keepLast !== null };
}

export const getRetention = defineRoute({
  method: 'GET',
  path: '/admin/retention',
  operationId: 'getRetention',
  summary: "The tenant's retention policy: its own, else the installation's (--retention-days), else off",
  scope: 'orchestrator:admin',
  tenant: true,
  responses: { 200: PolicyView },
  async handler(ctx) {
    return { status: 200, body: view(ctx.tenant, await ctx.deps.services.lifecycle.policyOf(ctx.tenant)) };
  },
});

export const putRetention = defineRoute({
  method: 'PUT',
  path: '/admin/retention',
  operationId: 'putRetention',
  summary:
    "Set the tenant's retention: keepLast keeps the newest K ended runs per DAG whatever their age; maxAgeDays prunes ended runs older than N days (0: any age past the newest K); null for both turns it off",
  scope: 'orchestrator:admin',
  tenant: true,
  body: PolicyBody,
  responses: { 200: PolicyView },
  async handler(ctx) {
    return { status: 200, body: view(ctx.tenant, await ctx.deps.services.lifecycle.setPolicy(ctx.tenant, ctx.body, ctx.audit)) };
  },
});

const Counts = z.object({ runs: z.number().int(), steps: z.number().int(), attempts: z.number().int(), idempotency: z.number().int(), events: z.number().int() });

export const applyRetention = defineRoute({
  method: 'POST',
  path: '/admin/retention:apply',
  operationId: 'applyRetention',
  summary: "Run one retention pass now for the token's tenants, then an artifact collection; answers what was pruned",
  scope: 'orchestrator:admin',
  tenant: false,
  freesSpace: true,
  body: z.strictObject({}),
  responses: {
    200: z.object({
      startedUtc: z.string(),
      durationMs: z.number().int(),
      tenants: z.array(Counts.extend({ tenant: z.string(), archives: z.array(z.string()) })),
      artifacts: z.object({ objects: z.number().int(), bytes: z.number().int(), released: z.record(z.string(), z.number().int()) }),
    }),
  },
  async handler(ctx) {
    const r = await ctx.deps.services.lifecycle.applyNow(ctx.tenants, ctx.audit);
    const { objects, bytes, released } = r.artifacts;
    return { status: 200, body: { startedUtc: r.startedUtc, durationMs: r.durationMs, tenants: r.tenants, artifacts: { objects, bytes, released } } };
  },
});

export const postBackup = defineRoute({
  method: 'POST',
  path: '/admin/backup',
  operationId: 'backup',
  summary: 'Write an online backup of the data folder (database snapshot and every referenced artifact, with a SHA-256 manifest) into --backup-dir; needs a token for all tenants ("*")',
  scope: 'orchestrator:admin',
  tenant: false,
  errors: ['TENANT_FORBIDDEN'],
  body: z.strictObject({}),
  responses: {
    200: z.object({
      file: z.string(),
      bytes: z.number().int(),
      sha256: z.string(),
      entries: z.number().int(),
      artifacts: z.number().int(),
      schemaVersion: z.number().int(),
      createdUtc: z.string(),
      durationMs: z.number().int(),
    }),
  },
  async handler(ctx) {
    if (ctx.tenants !== '*') throw new ApiError('TENANT_FORBIDDEN', 'a backup holds every tenant\'s data: it needs a token for all tenants ("*")');
    const r = await ctx.deps.services.lifecycle.backup();
    const { file, bytes, sha256, entries, artifacts, schemaVersion, createdUtc, durationMs } = r;
    return { status: 200, body: { file, bytes, sha256, entries, artifacts, schemaVersion, createdUtc, durationMs } };
  },
});

export const lifecycleRoutes = [getRetention, putRetention, applyRetention, postBackup];
