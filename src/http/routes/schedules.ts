/**
 * Schedule routes (CONTRACT §11): create, list, get (with `upcoming`), replace, pause, resume,
 * trigger, delete, export. Another tenant's schedule is answered like a missing one (404).
 */
import { z } from 'zod';
import { runPath, schedulePath } from '../../core/index.js';
import { ndjsonResponse } from '../ndjson.js';
import { scheduleDocumentSchema, scheduleReplaceSchema } from '../../schedules/model.js';
import type { RunView } from '../../runs/views.js';
import { scheduleView, type ScheduleCreated, type ScheduleService, type ScheduleView } from '../../schedules/service.js';
import { answered, createdAnswer, okAnswer as ok } from '../answers.js';
import { component } from '../components.js';
import { defineRoute } from '../route.js';
import { BoolParam, Id, NDJSON, PageQuery, ScheduleIdParam } from './common.js';
import { ScheduleListSchema, ScheduleSchema } from './schedule-views.js';
import { RunSchema } from './views.js';

declare module '../deps.js' {
  interface Services {
    schedules: ScheduleService;
  }
}

const ScheduleKey = z.object({ scheduleId: ScheduleIdParam });
const ListFilter = z.object({ dagId: Id.optional(), paused: BoolParam.optional() });
const Empty = z.strictObject({});

const EXAMPLE_SCHEDULE = { dagId: 'policy-refresh', inputs: { image: 'registry.local/app:1.2.0' }, cron: '30 2 * * *', timezone: 'Europe/Berlin', overlap: 'skip', catchup: { policy: 'latest', window: 'PT1H' } };
const ScheduleBody = component('ScheduleDocument', scheduleDocumentSchema.meta({ examples: [{ scheduleId: 'policy-nightly', ...EXAMPLE_SCHEDULE }] }));
const ScheduleReplaceBody = component('ScheduleReplace', scheduleReplaceSchema.meta({ examples: [EXAMPLE_SCHEDULE] }));

export const createSchedule = defineRoute({
  method: 'POST',
  path: '/schedules',
  operationId: 'createSchedule',
  summary: 'Create a schedule (201), or confirm an identical one (200); same id, other body: 409 SCHEDULE_EXISTS',
  scope: 'orchestrator:write',
  tenant: true,
  errors: ['SCHEDULE_EXISTS', 'DAG_INVALID', 'INPUTS_INVALID'],
  body: ScheduleBody,
  responses: {
    201: { schema: ScheduleSchema, description: 'Created: the schedule' },
    200: { schema: ScheduleSchema, description: 'An identical schedule already existed' },
  },
  handler(ctx) {
    return answered<ScheduleCreated>(
      ctx,
      (r) => createdAnswer(r.schedule, r.created, schedulePath(r.schedule.scheduleId)),
      (tx) => ctx.deps.services.schedules.create(ctx.tenant, { doc: ctx.body }, tx, ctx.audit),
    );
  },
});

export const listSchedules = defineRoute({
  method: 'GET',
  path: '/schedules',
  operationId: 'listSchedules',
  summary: 'List schedules: scheduleId ASC; filters dagId, paused',
  scope: 'orchestrator:read',
  tenant: true,
  query: ListFilter.extend(PageQuery.shape),
  responses: { 200: ScheduleListSchema },
  async handler(ctx) {
    const { page_size, page_token, ...filters } = ctx.query;
    const { pages } = ctx.deps;
    const after = page_token ? pages.decode<{ s: string }>('schedules', ctx.tenant, filters, page_token) : undefined;
    const rows = await ctx.deps.services.schedules.list({
      tenant: ctx.tenant,
      dagId: filters.dagId,
      paused: filters.paused,
      after: typeof after?.s === 'string' ? after.s : undefined,
      limit: page_size + 1,
    });
    return {
      status: 200,
      body: pages.page(rows, page_size, scheduleView, { list: 'schedules', tenant: ctx.tenant, filters, position: (r) => ({ s: r.scheduleId }) }),
    };
  },
});

export const exportSchedules = defineRoute({
  method: 'GET',
  path: '/schedules:export',
  operationId: 'exportSchedules',
  summary: 'Export schedules as NDJSON (scheduleId ASC) with a manifest line',
  scope: 'orchestrator:read',
  tenant: true,
  query: ListFilter,
  responses: { 200: NDJSON },
  handler(ctx) {
    return ndjsonResponse(ctx.deps.services.schedules.exportRecords(ctx.tenant, ctx.query));
  },
});

export const getSchedule = defineRoute({
  method: 'GET',
  path: '/schedules/{scheduleId}',
  operationId: 'getSchedule',
  summary: 'A schedule with its next 5 fires (upcoming: UTC and local time)',
  scope: 'orchestrator:read',
  tenant: true,
  params: ScheduleKey,
  responses: { 200: ScheduleSchema },
  async handler(ctx) {
    return { status: 200, body: await ctx.deps.services.schedules.get(ctx.tenant, ctx.params.scheduleId) };
  },
});

export const replaceSchedule = defineRoute({
  method: 'PUT',
  path: '/schedules/{scheduleId}',
  operationId: 'replaceSchedule',
  summary: 'Replace a schedule (updatedUtc changes; its fire history stays)',
  scope: 'orchestrator:write',
  tenant: true,
  params: ScheduleKey,
  errors: ['DAG_INVALID', 'INPUTS_INVALID'],
  body: ScheduleReplaceBody,
  responses: { 200: ScheduleSchema },
  handler(ctx) {
    const doc = { ...ctx.body, scheduleId: ctx.body.scheduleId ?? ctx.params.scheduleId };
    return answered<ScheduleView>(ctx, ok, (tx) => ctx.deps.services.schedules.replace(ctx.tenant, ctx.params.scheduleId, { doc }, tx, ctx.audit));
  },
});

const verb = (name: 'pause' | 'resume', summary: string) =>
  defineRoute({
    method: 'POST',
    path: `/schedules/{scheduleId}:${name}`,
    operationId: `${name}Schedule`,
    summary,
    scope: 'orchestrator:write',
    tenant: true,
    params: ScheduleKey,
    body: Empty,
    responses: { 200: ScheduleSchema },
    handler(ctx) {
      return answered<ScheduleView>(ctx, ok, (tx) => ctx.deps.services.schedules.setPaused(ctx.tenant, ctx.params.scheduleId, name === 'pause', tx, ctx.audit));
    },
  });

export const pauseSchedule = verb('pause', 'Pause a schedule (idempotent): no fire until resumed');
export const resumeSchedule = verb('resume', 'Resume a schedule (idempotent): the next fire is the first after now');

export const triggerSchedule = defineRoute({
  method: 'POST',
  path: '/schedules/{scheduleId}:trigger',
  operationId: 'triggerSchedule',
  summary: 'Start one run of the schedule now, outside the cron (201 with the run)',
  scope: 'orchestrator:write',
  tenant: true,
  rateLimit: 'runs',
  params: ScheduleKey,
  errors: ['NOT_FOUND', 'DAG_DISABLED', 'INPUTS_INVALID', 'QUOTA_EXCEEDED', 'PLUGIN_UNAVAILABLE'],
  body: Empty,
  responses: { 201: { schema: RunSchema, description: 'Created: the run (Location names it)' } },
  handler(ctx) {
    return answered<RunView>(
      ctx,
      (run) => createdAnswer(run, true, runPath(run.runId)),
      (tx) => ctx.deps.services.schedules.trigger(ctx.tenant, ctx.params.scheduleId, tx, ctx.audit),
    );
  },
});

export const deleteSchedule = defineRoute({
  method: 'DELETE',
  path: '/schedules/{scheduleId}',
  operationId: 'deleteSchedule',
  summary: 'Delete a schedule (204); its runs stay',
  scope: 'orchestrator:write',
  tenant: true,
  params: ScheduleKey,
  responses: { 204: { mediaType: 'application/json', description: 'Deleted (no body)' } },
  handler(ctx) {
    return answered<void>(ctx, () => ({ status: 204 }), (tx) => ctx.deps.services.schedules.delete(ctx.tenant, ctx.params.scheduleId, tx, ctx.audit));
  },
});

export const scheduleRoutes = [
  createSchedule, listSchedules, exportSchedules, getSchedule, replaceSchedule,
  pauseSchedule, resumeSchedule, triggerSchedule, deleteSchedule,
];
