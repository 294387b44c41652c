/**
 * `/admin/*` (CONTRACT §7): health (probe view without a token, detail with an admin token),
 * Prometheus metrics, warm-up. No `X-Stella-Tenant`: they act on the token's tenants (health's
 * queues, metrics' tenant series) or on the installation (warm). See docs/OPS.md.
 */
import { z } from 'zod';
import type { Ops } from '../../ops/index.js';
import { defineRoute } from '../route.js';
import { component } from '../components.js';
import { HealthView } from './meta.js';

declare module '../deps.js' {
  interface Services {
    ops: Ops;
  }
}

const Check = z.object({
  status: z.enum(['ok', 'degraded', 'down']),
  detail: z.string().optional(),
  latencyMs: z.number().optional(),
});

const AdminHealthView = HealthView.extend({
  version: z.string(),
  uptimeSeconds: z.number().int(),
  lifecycle: z.enum(['starting', 'serving', 'draining']),
  checks: z.record(z.string(), Check),
  queues: z.array(z.object({ tenant: z.string(), queued: z.number().int(), running: z.number().int() })),
});

/** Without a token: the probe view; with an admin token: the whole report. */
const Health = component('Health', z.union([AdminHealthView, HealthView]));

export const health = defineRoute({
  method: 'GET',
  path: '/admin/health',
  operationId: 'health',
  summary:
    'Health: without a token exactly {status, ready} (probes); with an admin token also version, uptime, checks and the queues of the token\'s tenants. 503 when down or not ready.',
  scope: 'orchestrator:admin',
  authOptional: true,
  tenant: false,
  responses: {
    200: { schema: Health, description: 'Serving (ok or degraded)', headers: ['Cache-Control'] },
    503: { schema: Health, description: 'Down, or not ready (starting, draining)', headers: ['Cache-Control'] },
  },
  async handler(ctx) {
    // Optional auth: a request that reaches here with a token has passed the admin scope check.
    const authenticated = ctx.scopes.has('orchestrator:admin');
    const body = await ctx.deps.services.ops.healthView(authenticated ? ctx.tenants : undefined);
    return { status: body.ready ? 200 : 503, body, headers: { 'Cache-Control': 'no-store' } };
  },
});

export const metrics = defineRoute({
  method: 'GET',
  path: '/admin/metrics',
  operationId: 'metrics',
  summary:
    'Prometheus text format 0.0.4. Series labelled with a tenant are limited to the token\'s tenants ("*" sees all). Also accepts the static scrape token of --metrics-token-file (sees all).',
  scope: 'orchestrator:admin',
  scrapeToken: true,
  tenant: false,
  responses: { 200: { mediaType: 'text/plain; version=0.0.4', description: 'Prometheus exposition format', headers: ['Cache-Control'] } },
  async handler(ctx) {
    const ops = ctx.deps.services.ops;
    const text = await ops.metrics.render(ctx.tenants);
    return new Response(text, {
      status: 200,
      headers: { 'content-type': ops.metrics.contentType, 'cache-control': 'no-store' },
    });
  },
});

export const warmUp = defineRoute({
  method: 'POST',
  path: '/admin/warm',
  operationId: 'warm',
  summary: 'Compile the plans of active DAG versions, load plugins and start the worker pool; returns the counts and the time taken',
  scope: 'orchestrator:admin',
  tenant: false,
  body: component('Warm', z.strictObject({})),
  responses: {
    200: z.strictObject({
      warmed: z.object({ plans: z.number().int(), plugins: z.number().int(), workers: z.number().int() }),
      durationMs: z.number().int(),
      errors: z.array(z.object({ part: z.enum(['plans', 'plugins']), message: z.string() })).optional(),
    }),
  },
  async handler(ctx) {
    return { status: 200, body: await ctx.deps.services.ops.warm() };
  },
});

export const adminRoutes = [health, metrics, warmUp];
