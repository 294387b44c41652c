/**
 * The database schema (drizzle). `npm run db:generate` turns changes here into a new SQL
 * migration under `migrations/` and re-embeds all migrations into `migrations.gen.ts`, so
 * source, bundle and single executable apply the same SQL.
 *
 * Times are integer milliseconds since the epoch (UTC); JSON columns hold canonical JSON text.
 */
import { sql } from 'drizzle-orm';
import { sqliteTable, text, integer, primaryKey, index, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const dagVersions = sqliteTable(
  'dag_versions',
  {
    tenant: text('tenant').notNull(),
    dagId: text('dag_id').notNull(),
    version: text('version').notNull(),
    /** Sorts lexicographically in SemVer precedence order (see dags/semver). */
    versionKey: text('version_key').notNull(),
    hash: text('hash').notNull(),
    /** Canonical JSON of the definition as signed (without `signature`). */
    definition: text('definition').notNull(),
    signature: text('signature'),
    signedBy: text('signed_by').notNull().default('[]'),
    /** Canonical JSON of the plugin pins (dags/pins.ts); null for a version stored before pinning. */
    pluginPins: text('plugin_pins'),
    active: integer('active').notNull().default(1),
    createdMs: integer('created_ms').notNull(),
    disabledMs: integer('disabled_ms'),
    /** Who published / disabled the version (docs/API.md "Actors"); null when not recorded. */
    createdBy: text('created_by'),
    disabledBy: text('disabled_by'),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.dagId, t.version] }),
    index('dag_versions_order').on(t.tenant, t.dagId, t.versionKey),
  ],
);

export const runs = sqliteTable(
  'runs',
  {
    runId: text('run_id').primaryKey(),
    tenant: text('tenant').notNull(),
    dagId: text('dag_id').notNull(),
    dagVersion: text('dag_version').notNull(),
    dagHash: text('dag_hash').notNull(),
    runToken: text('run_token'),
    traceId: text('trace_id').notNull(),
    status: text('status').notNull(),
    inputs: text('inputs').notNull(),
    inputsHash: text('inputs_hash').notNull(),
    outputsHash: text('outputs_hash'),
    createdMs: integer('created_ms').notNull(),
    startedMs: integer('started_ms').notNull(),
    endedMs: integer('ended_ms'),
    cancelReason: text('cancel_reason'),
    /** Who started / cancelled the run (docs/API.md "Actors"); null when not recorded. */
    createdBy: text('created_by'),
    cancelledBy: text('cancelled_by'),
    /** Set for runs imported from another installation: read-only here. */
    imported: integer('imported').notNull().default(0),
    /** The schedule that started the run (its fire time in `scheduled_ms`); null otherwise. */
    scheduleId: text('schedule_id'),
    scheduledMs: integer('scheduled_ms'),
  },
  (t) => [
    // The order of `GET /runs` (startedUtc DESC, then runId ASC), so that a page's keys are read
    // from the index in order, without a sort. An export (started_ms, run_id both ascending)
    // reads them backwards and sorts only the runs of one started_ms at a time.
    index('runs_list').on(t.tenant, sql`${t.startedMs} desc`, t.runId),
    index('runs_dag_list').on(t.tenant, t.dagId, sql`${t.startedMs} desc`, t.runId),
    index('runs_schedule_list').on(t.tenant, t.scheduleId, sql`${t.startedMs} desc`, t.runId),
    // Retention walks a DAG's runs in (started_ms, run_id) order (row-value ranges: retention.ts).
    index('runs_dag_order').on(t.tenant, t.dagId, t.startedMs, t.runId),
    // A schedule's overlap policy asks, at every fire, whether a run of it is still active.
    index('runs_schedule_active')
      .on(t.tenant, t.scheduleId)
      .where(sql`${t.scheduleId} is not null and ${t.status} in ('queued', 'running', 'cancelling') and ${t.imported} = 0`),
    index('runs_status').on(t.status),
    // runToken idempotency (POST /runs) covers the runs started here only: an imported run
    // keeps its runToken as history and never answers a new run's (docs/RUNS.md, imports).
    uniqueIndex('runs_token').on(t.tenant, t.runToken).where(sql`${t.imported} = 0`),
  ],
);

export const steps = sqliteTable(
  'steps',
  {
    runId: text('run_id').notNull(),
    stepId: text('step_id').notNull(),
    /** Position in the plan's topological order (ties by stepId). */
    topoIndex: integer('topo_index').notNull(),
    status: text('status').notNull(),
    attempt: integer('attempt').notNull().default(0),
    startedMs: integer('started_ms'),
    endedMs: integer('ended_ms'),
    inputsHash: text('inputs_hash'),
    outputsHash: text('outputs_hash'),
    outputs: text('outputs'),
    logsRef: text('logs_ref'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    retryable: integer('retryable'),
    /** When a `retrying` step is due again: persisted so a restart rebuilds the timer heap. */
    nextAttemptMs: integer('next_attempt_ms'),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.stepId] }),
    /** Steps of a run in topological order (`topo_index` is unique within a run). */
    index('steps_order').on(t.runId, t.topoIndex),
  ],
);

export const attempts = sqliteTable(
  'attempts',
  {
    runId: text('run_id').notNull(),
    stepId: text('step_id').notNull(),
    attempt: integer('attempt').notNull(),
    status: text('status').notNull(),
    startedMs: integer('started_ms').notNull(),
    endedMs: integer('ended_ms'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    logsRef: text('logs_ref'),
    outputsHash: text('outputs_hash'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.stepId, t.attempt] })],
);

export const events = sqliteTable(
  'events',
  {
    tenant: text('tenant').notNull(),
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    dagId: text('dag_id').notNull(),
    runId: text('run_id').notNull(),
    stepId: text('step_id'),
    status: text('status').notNull(),
    tsMs: integer('ts_ms').notNull(),
    traceId: text('trace_id').notNull(),
    /** Events of scheduled runs and schedule events (`schedule.fired|missed`): the schedule. */
    scheduleId: text('schedule_id'),
    /** Schedule events: the fire time they are about. */
    scheduledMs: integer('scheduled_ms'),
    /** Extension fields, canonical JSON: schedule events' (`missedCount`, `errorCode`, …), the `actor` (and cancel `reason`) of the events a request or a schedule caused. */
    detail: text('detail'),
    /** Hash chain per tenant: hash of the previous event ('' for the first). */
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.seq] })],
);

export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    tenant: text('tenant').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    /** 'in_flight' until the response is recorded, then 'done'. */
    state: text('state').notNull(),
    responseStatus: integer('response_status'),
    responseBody: text('response_body'),
    responseHeaders: text('response_headers'),
    createdMs: integer('created_ms').notNull(),
    /** The run the recorded response names (its `runId`), so retention prunes the record with the run. */
    runId: text('run_id'),
    /**
     * Several nodes: the node handling the request while it is in flight. Its claim is free
     * again once that node's lease has run out (it died mid-request). Null on the embedded store,
     * whose start-up forgets every in-flight claim instead.
     */
    nodeId: text('node_id'),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.method, t.path, t.key] }),
    index('idempotency_created').on(t.createdMs),
    index('idempotency_run').on(t.runId),
    // Start-up forgets the keys of requests the last process never answered: without this
    // index that delete scanned every key of the last 24 h (1.7 s over 1,000,000 keys).
    index('idempotency_in_flight').on(t.state).where(sql`${t.state} = 'in_flight'`),
  ],
);

export const artifacts = sqliteTable(
  'artifacts',
  {
    tenant: text('tenant').notNull(),
    hash: text('hash').notNull(),
    size: integer('size').notNull(),
    mediaType: text('media_type').notNull(),
    createdMs: integer('created_ms').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.hash] }), index('artifacts_hash').on(t.hash)],
);

/**
 * What keeps an owned artifact alive (docs/OPERATIONS.md, artifact GC): one row per record that
 * names it. `holder` is the run that wrote it or whose inputs, step outputs or logs name it
 * (its runId), a DAG version whose definition names it (`dag:<dagId>@<version>`), or `legacy`
 * (artifacts stored before references were recorded: kept). A row exists only while the tenant
 * owns the artifact; garbage collection deletes an ownership row only when no row here names it.
 */
export const artifactRefs = sqliteTable(
  'artifact_refs',
  {
    tenant: text('tenant').notNull(),
    hash: text('hash').notNull(),
    holder: text('holder').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.hash, t.holder] }), index('artifact_refs_holder').on(t.holder)],
);

/**
 * Where a tenant's pruned event log ends: the `seq` and `hash` of the last pruned event, so the
 * kept events still chain from a known hash (`events verify`).
 */
export const eventCheckpoints = sqliteTable('event_checkpoints', {
  tenant: text('tenant').primaryKey(),
  seq: integer('seq').notNull(),
  hash: text('hash').notNull(),
  prunedMs: integer('pruned_ms').notNull(),
});

/** Per-tenant retention (`PUT /admin/retention`); both null = retention off for the tenant. */
export const retentionPolicies = sqliteTable('retention_policies', {
  tenant: text('tenant').primaryKey(),
  maxAgeDays: integer('max_age_days'),
  keepLast: integer('keep_last'),
  updatedMs: integer('updated_ms').notNull(),
});

/**
 * Schedules (CONTRACT §11). `spec` is the canonical JSON of the schedule as last created or
 * replaced (defaults filled in); the other columns are its parts, the current state (`paused`)
 * and what the firing scheduler recorded. `next_fire_ms` is the first fire not yet decided
 * (null while paused or once the schedule can fire no more); every fire before it has been
 * started, buffered, skipped, refused or recorded as missed.
 */
export const schedules = sqliteTable(
  'schedules',
  {
    tenant: text('tenant').notNull(),
    scheduleId: text('schedule_id').notNull(),
    dagId: text('dag_id').notNull(),
    spec: text('spec').notNull(),
    specHash: text('spec_hash').notNull(),
    /** The DSSE envelope of a signed document (preloaded or from a bundle), else null. */
    signature: text('signature'),
    signedBy: text('signed_by').notNull().default('[]'),
    paused: integer('paused').notNull().default(0),
    createdMs: integer('created_ms').notNull(),
    updatedMs: integer('updated_ms').notNull(),
    /** Who created it, and who made the change `updated_ms` records (docs/API.md "Actors"); null before 0006. */
    createdBy: text('created_by'),
    updatedBy: text('updated_by'),
    nextFireMs: integer('next_fire_ms'),
    /** `buffer_one` / `cancel_other`: a fire waiting for the active run to end. */
    bufferedFireMs: integer('buffered_fire_ms'),
    lastFireMs: integer('last_fire_ms'),
    lastFireStatus: text('last_fire_status'),
    lastFireRunId: text('last_fire_run_id'),
    lastFireError: text('last_fire_error'),
    /** Fires that started no run (missed, skipped, refused), and the newest of them. */
    missedCount: integer('missed_count').notNull().default(0),
    missedLastMs: integer('missed_last_ms'),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.scheduleId] }),
    index('schedules_dag').on(t.tenant, t.dagId, t.scheduleId),
  ],
);

// The tables of an installation of several nodes (leases, shared settings).
export * from './schema-nodes.js';
