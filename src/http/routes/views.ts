/**
 * Response schemas of the API's resources (CONTRACT §5, §6): what `runView`, `stepView`,
 * `dagView`, `dagSummary` and `eventView` produce, as zod schemas. Routes declare them in their
 * `responses`; the OpenAPI document is generated from them, and a server started with response
 * validation (every test server) checks every answer against them, so they cannot drift. The
 * type checks at the bottom tie them to the domain's own types at compile time.
 */
import { z } from 'zod';
import { HASH_RE } from '../../core/index.js';
import type { DagVersionView } from '../../dags/service.js';
import { dagDocumentSchema, dsseEnvelopeSchema, edgeSchema, PLUGIN_NAME_RE, retriesSchema, stepSchema } from '../../dags/model.js';
import { SEMVER_RE } from '../../dags/semver.js';
import { ATTEMPT_STATUSES, RUN_STATUSES, STEP_STATUSES } from '../../runs/states.js';
import type { AttemptView, RunView, StepView } from '../../runs/views.js';
import { EVENT_TYPES, type EventView } from '../../events/index.js';
import { component } from '../components.js';
import { Id, ListOf, RunId } from './common.js';

export const Utc = z.iso.datetime({ precision: 3 }).meta({ description: 'UTC, ISO-8601 with milliseconds', examples: ['2026-11-28T17:17:31.123Z'] });
const Hash = z.string().regex(HASH_RE).meta({ description: 'SHA-256, 64 lowercase hex characters' });
const TraceId = z.string().regex(/^[0-9a-f]{32}$/).meta({ description: 'W3C trace id of the request that started it' });
const Millis = z.int().min(0);
/** A placeholder hash for examples. */
const H = (c: string) => c.repeat(64);

export const AttemptSchema = component(
  'Attempt',
  z.strictObject({
    attempt: z.int().min(1),
    status: z.enum(ATTEMPT_STATUSES),
    startedUtc: Utc,
    endedUtc: Utc.nullable(),
    durationMs: Millis.nullable(),
    errorCode: z.string().nullable(),
    errorMessage: z.string().nullable(),
    logsRef: Hash.nullable().meta({ description: 'hash of the NDJSON log, at GET /artifacts/{hash}' }),
    outputsHash: Hash.nullable(),
  }),
);

export const StepSchema = component(
  'StepExecution',
  z.strictObject({
    stepId: Id,
    status: z.enum(STEP_STATUSES),
    attempt: z.int().min(0),
    attempts: z.array(AttemptSchema),
    startedUtc: Utc.nullable(),
    endedUtc: Utc.nullable(),
    durationMs: Millis.nullable(),
    inputsHash: Hash.nullable(),
    outputsHash: Hash.nullable(),
    outputs: z.record(z.string(), z.unknown()).nullable(),
    logsRef: Hash.nullable(),
    errorCode: z.string().nullable(),
    errorMessage: z.string().nullable(),
    retryable: z.boolean().nullable(),
  }),
);

const runFields = {
  runId: RunId,
  tenant: z.string(),
  dagId: Id,
  dagVersion: z.string(),
  dagHash: Hash,
  runToken: z.string().nullable(),
  scheduleId: Id.nullable().meta({ description: 'the schedule that started the run, or null' }),
  scheduledUtc: Utc.nullable().meta({ description: 'the fire time it started for, or null' }),
  traceId: TraceId,
  status: z.enum(RUN_STATUSES),
  inputsHash: Hash,
  outputsHash: Hash.nullable(),
  createdUtc: Utc,
  startedUtc: Utc,
  endedUtc: Utc.nullable(),
  durationMs: Millis.nullable(),
  createdBy: z.string().nullable().meta({ description: 'who started the run: the token\'s sub, or schedule:<scheduleId>; null when not recorded' }),
  cancelledBy: z.string().nullable().meta({ description: 'who cancelled the run (the token\'s sub, or schedule:<scheduleId> for an overlap cancel), or null' }),
  cancelReason: z.string().nullable().meta({ description: 'the reason given with the cancel, or null' }),
};

const EXAMPLE_RUN = {
  runId: '0193a3c4-5b6e-7f00-8a1b-2c3d4e5f6a7b', tenant: 'demo', dagId: 'hello', dagVersion: '1.0.0', dagHash: H('d'),
  runToken: null, scheduleId: null, scheduledUtc: null, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', status: 'completed', inputsHash: H('1'), outputsHash: H('2'),
  createdUtc: '2026-11-28T17:17:31.123Z', startedUtc: '2026-11-28T17:17:31.123Z', endedUtc: '2026-11-28T17:17:31.140Z', durationMs: 17,
  createdBy: 'ci-bot', cancelledBy: null, cancelReason: null,
  steps: [{
    stepId: 'greet', status: 'completed', attempt: 1,
    attempts: [{ attempt: 1, status: 'completed', startedUtc: '2026-11-28T17:17:31.125Z', endedUtc: '2026-11-28T17:17:31.139Z', durationMs: 14, errorCode: null, errorMessage: null, logsRef: null, outputsHash: H('3') }],
    startedUtc: '2026-11-28T17:17:31.125Z', endedUtc: '2026-11-28T17:17:31.139Z', durationMs: 14, inputsHash: H('4'), outputsHash: H('3'),
    outputs: { name: 'world' }, logsRef: null, errorCode: null, errorMessage: null, retryable: null,
  }],
};

/** A run with its step executions (topological order) and their attempts. */
export const RunSchema = component('Run', z.strictObject({ ...runFields, steps: z.array(StepSchema) }).meta({ examples: [EXAMPLE_RUN] }));
/** A run as listed: without steps. */
export const RunSummarySchema = component('RunSummary', z.strictObject(runFields));

component('DagStep', stepSchema);
component('DagEdge', edgeSchema);
component('RetryPolicy', retriesSchema);
component('DsseEnvelope', dsseEnvelopeSchema);
const EXAMPLE_DAG = {
  dagId: 'policy-refresh',
  version: '1.4.0',
  metadata: { description: 'Fetch an image, then scan it' },
  inputsSchema: { type: 'object', required: ['image'], properties: { image: { type: 'string' } } },
  steps: [
    { id: 'fetch', plugin: 'echo', with: { image: '${{ inputs.image }}' }, retries: { max: 2, backoffMs: 500, factor: 2, maxBackoffMs: 30000 }, timeoutMs: 60000 },
    { id: 'scan', plugin: 'noop', trigger: 'all_success' },
  ],
  edges: [{ from: 'fetch', to: 'scan' }],
  signature: { payloadType: 'application/vnd.stellaops.orchestrator.dag+json', payload: '<base64 of the canonical DAG without signature>', signatures: [{ keyid: H('a'), sig: '<base64>' }] },
};

export const DagDocumentSchema = component('DagDocument', dagDocumentSchema.meta({ examples: [EXAMPLE_DAG] }));

/** The plugin a DAG version's step reference is pinned to at publish (docs/PLUGINS.md). */
export const PluginPinSchema = component(
  'PluginPin',
  z.strictObject({
    name: z.string().regex(PLUGIN_NAME_RE),
    version: z.string().regex(SEMVER_RE),
    contentHash: Hash.meta({ description: "SHA-256 of the plugin's content when the version was published" }),
    builtin: z.boolean(),
  }),
);

/** A stored DAG version: the document as published, plus what the server knows of it. */
export const DagVersionSchema = component(
  'DagVersion',
  dagDocumentSchema.extend({
    hash: Hash.meta({ description: 'SHA-256 of the canonical (RFC 8785) definition' }),
    active: z.boolean(),
    createdUtc: Utc,
    disabledUtc: Utc.nullable(),
    signedBy: z.array(Hash).meta({ description: 'key ids (SHA-256 of the SPKI DER) of the verified signatures' }),
    pluginPins: z
      .record(z.string(), PluginPinSchema)
      .nullable()
      .meta({ description: 'The plugin each step reference (as written in steps[].plugin) is pinned to; null for a version stored before pinning that could not be pinned yet' }),
    createdBy: z.string().nullable().meta({ description: 'who published it: the token\'s sub, or system (start-up preload, offline import); null when not recorded' }),
    disabledBy: z.string().nullable().meta({ description: 'who disabled it, or null' }),
  }),
);

export const DagSummarySchema = component(
  'DagSummary',
  z.strictObject({
    dagId: Id,
    version: z.string(),
    hash: Hash,
    active: z.boolean(),
    description: z.string().nullable(),
    stepCount: z.int().min(1),
    createdUtc: Utc,
    disabledUtc: Utc.nullable(),
    signedBy: z.array(Hash),
    createdBy: z.string().nullable(),
  }),
);

export const EventSchema = component(
  'Event',
  z.strictObject({
    seq: z.int().min(1),
    type: z.enum(EVENT_TYPES),
    tenant: z.string(),
    dagId: Id.or(z.literal('')).meta({ description: "'' on retention.changed and retention.applied: they concern every DAG of the tenant" }),
    runId: RunId.optional().meta({ description: 'absent on a schedule.missed event (no run started)' }),
    stepId: Id.optional(),
    scheduleId: Id.optional().meta({ description: 'events of runs a schedule started, and schedule events' }),
    scheduledUtc: Utc.optional().meta({ description: 'schedule events: the fire time' }),
    status: z.string(),
    timestamp: Utc,
    traceId: TraceId,
    missedCount: z.int().min(1).optional(),
    lastScheduledUtc: Utc.optional(),
    reason: z.enum(['downtime', 'overlap', 'refused']).optional(),
    errorCode: z.string().optional(),
    errorMessage: z.string().optional(),
    manual: z.boolean().optional(),
    actor: z.string().optional().meta({ description: 'who caused the event: a token\'s sub, schedule:<scheduleId>, or system (docs/API.md "Actors")' }),
    cancelReason: z.string().optional().meta({ description: 'run.updated (cancelling) and run.cancelled after a cancel: the reason given' }),
    version: z.string().optional().meta({ description: 'dag.published and dag.disabled: the version' }),
    maxAgeDays: z.int().min(0).optional().meta({ description: "retention.changed: the tenant's new maxAgeDays (absent when null)" }),
    keepLast: z.int().min(0).optional().meta({ description: "retention.changed: the tenant's new keepLast (absent when null)" }),
    pruned: z
      .strictObject({ runs: z.int().min(0), steps: z.int().min(0), attempts: z.int().min(0), idempotency: z.int().min(0), events: z.int().min(0) })
      .optional()
      .meta({ description: 'retention.applied: what the pass pruned of the tenant' }),
  }),
);

export const RunListSchema = component('RunList', ListOf(RunSummarySchema));
export const StepListSchema = component('StepList', ListOf(StepSchema));
export const DagListSchema = component('DagList', ListOf(DagSummarySchema));

// ---- the schemas have exactly the fields of the domain's views (compile-time checks; the
// values are checked at run time by response validation) ----
export type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
export const sameKeys = <T extends true>(): T => true as T;
sameKeys<SameKeys<z.output<typeof AttemptSchema>, AttemptView>>();
sameKeys<SameKeys<z.output<typeof StepSchema>, StepView>>();
sameKeys<SameKeys<z.output<typeof RunSummarySchema>, Omit<RunView, 'steps'>>>();
sameKeys<SameKeys<z.output<typeof RunSchema>, Required<RunView>>>();
sameKeys<SameKeys<z.output<typeof EventSchema>, EventView>>();
// DagVersionView also holds the document's own fields (an index signature): its named ones must be in the schema.
type NamedKeys<T> = keyof { [K in keyof T as string extends K ? never : K]: T[K] };
sameKeys<[NamedKeys<DagVersionView>] extends [keyof z.output<typeof DagVersionSchema>] ? true : false>();
