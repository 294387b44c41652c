import { z } from 'zod';
import { dagVersionPath } from '../../core/index.js';
import { ndjsonResponse } from '../ndjson.js';
import { versionSchema } from '../../dags/model.js';
import { dagSummary, dagView, type DagPublished, type DagService, type DagVersionView } from '../../dags/service.js';
import { answered, createdAnswer, okAnswer } from '../answers.js';
import { defineRoute, pathParam } from '../route.js';
import { component } from '../components.js';
import { BoolParam, Id, NDJSON, PageQuery } from './common.js';
import { DagDocumentSchema, DagListSchema, DagVersionSchema } from './views.js';

declare module '../deps.js' {
  interface Services {
    dags: DagService;
  }
}

const DagKey = z.object({
  dagId: pathParam(Id.clone(), 'DAG version not found'),
  version: pathParam(versionSchema.clone(), 'DAG version not found'),
});
const ListFilter = z.object({ dagId: Id.optional(), active: BoolParam.optional() });

export const publishDag = defineRoute({
  method: 'POST',
  path: '/dags',
  operationId: 'publishDag',
  summary: 'Publish a DAG version (201), or confirm an identical one (200)',
  scope: 'orchestrator:admin',
  tenant: true,
  bodyLimit: 'dagPublish',
  body: DagDocumentSchema,
  signed: true,
  errors: ['DAG_INVALID', 'SIGNATURE_INVALID', 'DAG_VERSION_EXISTS'],
  responses: {
    201: { schema: DagVersionSchema, description: 'Created: the stored version (Location names it)' },
    200: { schema: DagVersionSchema, description: 'The identical version, already stored' },
  },
  async handler(ctx) {
    const dags = ctx.deps.services.dags;
    const checked = dags.check(ctx.body, ctx.tenant);
    if (checked.warnings?.length) {
      // The contract's publish answer has no warnings field: the log says it (and `dag check` prints it).
      const { dagId, version } = ctx.body;
      ctx.deps.logger.warn({ trace_id: ctx.traceId, tenant: ctx.tenant, dagId, version, warnings: checked.warnings }, 'dag publish: warnings');
    }
    return answered<DagPublished>(
      ctx,
      (r) => createdAnswer(r.version, r.created, dagVersionPath(r.version.dagId, r.version.version)),
      (tx) => dags.publish(ctx.tenant, ctx.body, { checked, who: ctx.audit, tx }),
    );
  },
});

export const listDags = defineRoute({
  method: 'GET',
  path: '/dags',
  operationId: 'listDags',
  summary: 'List DAG versions: dagId ASC, then version DESC by SemVer precedence',
  scope: 'orchestrator:read',
  tenant: true,
  query: ListFilter.extend(PageQuery.shape),
  responses: { 200: DagListSchema },
  async handler(ctx) {
    const { page_size, page_token, ...filters } = ctx.query;
    const pages = ctx.deps.pages;
    const after = page_token ? pages.decode<{ d: string; k: string }>('dags', ctx.tenant, filters, page_token) : undefined;
    const rows = await ctx.deps.services.dags.list({
      tenant: ctx.tenant,
      dagId: filters.dagId,
      active: filters.active,
      after: after ? { dagId: after.d, versionKey: after.k } : undefined,
      limit: page_size + 1,
    });
    return {
      status: 200,
      body: pages.page(rows, page_size, dagSummary, {
        list: 'dags',
        tenant: ctx.tenant,
        filters,
        position: (r) => ({ d: r.dagId, k: r.versionKey }),
      }),
    };
  },
});

export const exportDags = defineRoute({
  method: 'GET',
  path: '/dags:export',
  operationId: 'exportDags',
  summary: 'Export DAG versions as NDJSON (oldest first) with a manifest line',
  scope: 'orchestrator:read',
  tenant: true,
  query: ListFilter,
  responses: { 200: NDJSON },
  handler(ctx) {
    return ndjsonResponse(ctx.deps.services.dags.exportRecords(ctx.tenant, ctx.query.dagId, ctx.query.active));
  },
});

export const getDag = defineRoute({
  method: 'GET',
  path: '/dags/{dagId}/{version}',
  operationId: 'getDag',
  summary: 'Fetch a DAG version',
  scope: 'orchestrator:read',
  tenant: true,
  params: DagKey,
  responses: { 200: DagVersionSchema },
  async handler(ctx) {
    const row = await ctx.deps.services.dags.get(ctx.tenant, ctx.params.dagId, ctx.params.version);
    return { status: 200, body: dagView(row) };
  },
});

export const disableDag = defineRoute({
  method: 'POST',
  path: '/dags/{dagId}/{version}:disable',
  operationId: 'disableDag',
  summary: 'Disable a DAG version (idempotent)',
  scope: 'orchestrator:admin',
  tenant: true,
  params: DagKey,
  body: component('DisableDag', z.strictObject({ reason: z.string().max(1024).optional() })),
  responses: { 200: DagVersionSchema },
  async handler(ctx) {
    const { dagId, version } = ctx.params;
    return answered<DagVersionView>(ctx, okAnswer, (tx) => ctx.deps.services.dags.disable(ctx.tenant, dagId, version, { who: ctx.audit, tx }));
  },
});

export const dagRoutes = [publishDag, listDags, exportDags, getDag, disableDag];
