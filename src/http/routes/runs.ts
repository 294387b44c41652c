/**
 * Run routes (CONTRACT §5): start, list, read, cancel, steps, export. A malformed run id is
 * answered like a missing one (404 NOT_FOUND), and so is another tenant's run, so no id can be
 * probed. Literal paths under `/runs/` (e.g. `/runs/stream`) must be registered before these.
 */
import { z } from 'zod';
import { ApiError, runPath } from '../../core/index.js';
import { ndjsonResponse } from '../ndjson.js';
import { versionSchema } from '../../dags/model.js';
import { RUN_STATUSES } from '../../runs/states.js';
import type { RunCancelled, RunService, RunStarted } from '../../runs/service.js';
import { FIRE_TOKEN_PREFIX } from '../../schedules/index.js';
import { answered, createdAnswer } from '../answers.js';
import { defineRoute } from '../route.js';
import { component } from '../components.js';
import { Id, ListOf, NDJSON, PageQuery, RunIdParam, StepIdParam } from './common.js';
import { RunListSchema, RunSchema, StepListSchema, StepSchema } from './views.js';

declare module '../deps.js' {
  interface Services {
    runs: RunService;
  }
}

const RunKey = z.object({ runId: RunIdParam });
const StepKey = z.object({ runId: RunIdParam, stepId: StepIdParam });
const IsoTime = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
const RunFilter = z.object({
  dagId: Id.optional(),
  scheduleId: Id.optional().meta({ description: 'runs started by this schedule' }),
  status: z.enum(RUN_STATUSES).optional(),
  from: IsoTime.optional().meta({ description: 'startedUtc >= from (inclusive)' }),
  to: IsoTime.optional().meta({ description: 'startedUtc < to (exclusive)' }),
});
// A client's token can never be a fire's: it could pre-empt the fire or take its run (exactly once).
const RunToken = z
  .string()
  .regex(/^[\x20-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters')
  .refine((t) => !t.startsWith(FIRE_TOKEN_PREFIX), `must not start with '${FIRE_TOKEN_PREFIX}' (reserved for schedule fires)`);

export const startRun = defineRoute({
  method: 'POST',
  path: '/runs',
  operationId: 'startRun',
  summary: 'Start a run (201), or return the run of the same runToken (200)',
  scope: 'orchestrator:write',
  tenant: true,
  rateLimit: 'runs',
  body: component(
    'StartRun',
    z
      .strictObject({
        dagId: Id,
        version: versionSchema.optional().meta({ description: 'SemVer 2.0; without it, the highest active version' }),
        inputs: z.record(z.string(), z.json()).optional().meta({ description: "Checked against the DAG's inputsSchema" }),
        runToken: RunToken.optional().meta({ description: "The same token with the same request returns the same run (200). Tokens starting with 'schedule:' are reserved for schedule fires (400)" }),
      })
      .meta({ examples: [{ dagId: 'policy-refresh', version: '1.4.0', inputs: { image: 'registry.local/app:1.2.0' }, runToken: 'nightly-2026-11-28' }] }),
  ),
  errors: ['NOT_FOUND', 'DAG_DISABLED', 'INPUTS_INVALID', 'RUN_TOKEN_CONFLICT', 'QUOTA_EXCEEDED', 'PLUGIN_UNAVAILABLE'],
  responses: {
    201: { schema: RunSchema, description: 'Created: the run (Location names it)' },
    200: { schema: RunSchema, description: 'The run this runToken already started' },
  },
  handler(ctx) {
    return answered<RunStarted>(
      ctx,
      (r) => createdAnswer(r.run, r.created, runPath(r.run.runId)),
      (tx) => ctx.deps.services.runs.create(ctx.tenant, ctx.body, ctx.traceId, tx, { actor: ctx.audit.actor }),
    );
  },
});

export const listRuns = defineRoute({
  method: 'GET',
  path: '/runs',
  operationId: 'listRuns',
  summary: 'List runs (without steps): startedUtc DESC, then runId ASC; filters dagId, scheduleId, status, from, to',
  scope: 'orchestrator:read',
  tenant: true,
  query: RunFilter.extend(PageQuery.shape),
  responses: { 200: RunListSchema },
  async handler(ctx) {
    const { page_size, page_token, ...filters } = ctx.query;
    const { pages } = ctx.deps;
    const after = page_token ? pages.decode<{ s: number; id: string }>('runs', ctx.tenant, filters, page_token) : undefined;
    if (after && (typeof after.s !== 'number' || typeof after.id !== 'string')) {
      pages.decode('runs', ctx.tenant, { invalid: true }, '');
    }
    const rows = await ctx.deps.services.runs.listJson({
      tenant: ctx.tenant,
      dagId: filters.dagId,
      scheduleId: filters.scheduleId,
      status: filters.status,
      fromMs: filters.from,
      toMs: filters.to,
      after: after ? { startedMs: after.s, runId: after.id } : undefined,
      limit: page_size + 1,
    });
    const json = pages.pageJson(rows, page_size, (r) => r.json, {
      list: 'runs',
      tenant: ctx.tenant,
      filters,
      position: (r) => ({ s: r.key.startedMs, id: r.key.runId }),
    });
    return { status: 200, json };
  },
});

export const exportRuns = defineRoute({
  method: 'GET',
  path: '/runs:export',
  operationId: 'exportRuns',
  summary: 'Export runs as NDJSON (startedUtc ASC, then runId), steps and attempts inline, with a manifest line',
  scope: 'orchestrator:read',
  tenant: true,
  query: RunFilter,
  responses: { 200: NDJSON },
  handler(ctx) {
    const q = ctx.query;
    return ndjsonResponse(ctx.deps.services.runs.exportRuns({ tenant: ctx.tenant, dagId: q.dagId, scheduleId: q.scheduleId, status: q.status, fromMs: q.from, toMs: q.to }));
  },
});

export const getRun = defineRoute({
  method: 'GET',
  path: '/runs/{runId}',
  operationId: 'getRun',
  summary: 'A run with its step executions (topological order) and their attempts',
  scope: 'orchestrator:read',
  tenant: true,
  params: RunKey,
  responses: { 200: RunSchema },
  async handler(ctx) {
    const { json, about } = await ctx.deps.services.runs.getJson(ctx.tenant, ctx.params.runId);
    return { status: 200, json, about };
  },
});

export const cancelRun = defineRoute({
  method: 'POST',
  path: '/runs/{runId}:cancel',
  operationId: 'cancelRun',
  summary: 'Cancel a run: 202 when this call cancelled it, 200 with the current state when already cancelling or ended',
  scope: 'orchestrator:write',
  tenant: true,
  params: RunKey,
  body: component('CancelRun', z.strictObject({ reason: z.string().max(1024).optional() }).meta({ examples: [{ reason: 'superseded by a newer image' }] })),
  responses: {
    202: { schema: RunSchema, description: 'This call cancelled it: cancelling, or cancelled when nothing was in flight' },
    200: { schema: RunSchema, description: 'Already cancelling or ended: the current state' },
  },
  handler(ctx) {
    return answered<RunCancelled>(
      ctx,
      (r) => ({ status: r.cancelled ? 202 : 200, body: r.run }),
      (tx) => ctx.deps.services.runs.cancel(ctx.tenant, ctx.params.runId, ctx.body.reason, tx, ctx.audit.actor),
    );
  },
});

export const listSteps = defineRoute({
  method: 'GET',
  path: '/runs/{runId}/steps',
  operationId: 'listRunSteps',
  summary: 'Step executions of a run, in topological order (ties by stepId), with their attempts',
  scope: 'orchestrator:read',
  tenant: true,
  params: RunKey,
  query: PageQuery,
  responses: { 200: StepListSchema },
  async handler(ctx) {
    const { page_size, page_token } = ctx.query;
    const { pages } = ctx.deps;
    const filters = { runId: ctx.params.runId };
    const after = page_token ? pages.decode<{ i: number }>('steps', ctx.tenant, filters, page_token) : undefined;
    const afterIndex = after && Number.isInteger(after.i) ? after.i : -1;
    const rows = await ctx.deps.services.runs.stepsPage(ctx.tenant, ctx.params.runId, afterIndex, page_size + 1);
    const body = pages.page(rows, page_size, (r) => r.view, {
      list: 'steps',
      tenant: ctx.tenant,
      filters,
      position: (r) => ({ i: r.topoIndex }),
    });
    return { status: 200, body };
  },
});

export const getStep = defineRoute({
  method: 'GET',
  path: '/runs/{runId}/steps/{stepId}',
  operationId: 'getRunStep',
  summary: 'One step execution with its attempts',
  scope: 'orchestrator:read',
  tenant: true,
  params: StepKey,
  responses: { 200: StepSchema },
  async handler(ctx) {
    return { status: 200, body: await ctx.deps.services.runs.step(ctx.tenant, ctx.params.runId, ctx.params.stepId) };
  },
});

const RunArtifactSchema = z.object({
  stepId: z.string(),
  attempt: z.number().int(),
  kind: z.enum(['log', 'output']),
  field: z.string(),
  hash: z.string(),
  size: z.number().int(),
  mediaType: z.string(),
});

export const listRunArtifacts = defineRoute({
  method: 'GET',
  path: '/runs/{runId}/artifacts',
  operationId: 'listRunArtifacts',
  summary:
    'Artifacts a run references: each attempt\'s log and each step output that names an artifact of your tenant (steps in topological order, then attempt, then field)',
  scope: 'orchestrator:read',
  tenant: true,
  params: RunKey,
  query: PageQuery,
  responses: { 200: ListOf(RunArtifactSchema) },
  async handler(ctx) {
    const { page_size, page_token } = ctx.query;
    const { pages } = ctx.deps;
    const filters = { runId: ctx.params.runId };
    const after = page_token ? pages.decode<{ k: unknown }>('run-artifacts', ctx.tenant, filters, page_token).k : undefined;
    if (after !== undefined && typeof after !== 'string') throw new ApiError('INVALID_PAGE_TOKEN', 'page_token is not valid for this request');
    const all = await ctx.deps.services.runs.artifacts(ctx.tenant, ctx.params.runId);
    const rows = (typeof after === 'string' ? all.filter((a) => a.key > after) : all).slice(0, page_size + 1);
    const body = pages.page(rows, page_size, ({ key: _key, ...item }) => item, {
      list: 'run-artifacts',
      tenant: ctx.tenant,
      filters,
      position: (r) => ({ k: r.key }),
    });
    return { status: 200, body };
  },
});

export const runRoutes = [startRun, listRuns, exportRuns, getRun, cancelRun, listSteps, getStep, listRunArtifacts];
