/**
 * Prometheus metrics (CONTRACT §7) on a registry of our own (never prom-client's global one):
 * process/runtime metrics, run and step outcomes fed from the scheduler's committed events,
 * queue depth and workers read at scrape time, HTTP requests fed from `deps.observe`.
 *
 * Label cardinality is bounded by construction: `route` is a route-table template or
 * `unmatched`, `method` one of the HTTP methods or `other`, `status` an HTTP status code or a
 * fixed run/step status, `tenant` one of the installation's tenants (tenant ids are validated
 * against the token, and only stored runs/DAGs produce tenant series), `dag_id` (on
 * `orchestrator_dag_runs_total` only) one of the first `dagLabelsPerTenant` (`--metrics-dag-labels`)
 * DAGs per tenant to end a run since start-up, later ones counted under {@link OTHER_DAGS}.
 *
 * @example
 * const metrics = new OpsMetrics({ queues: () => queueStats, dagLabelsPerTenant: 100 });
 * metrics.setRoutes(routes.map((r) => r.path));
 * deps.observe = metrics.observe;
 * scheduler.on('committed', metrics.onEvents);
 * const text = await metrics.render('*');
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../core/runtime.js';
import type { PoolLike, QueueStats, RunEvent } from './types.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** prom-client's `nodejs_active_*_total` gauges fail `promtool check metrics` (a gauge named `_total`); the same data is in `nodejs_active_*`. */
const PROMTOOL_REJECTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const RUN_END: Record<string, string> = { 'run.completed': 'completed', 'run.failed': 'failed', 'run.cancelled': 'cancelled' };
/** Step statuses that end an attempt (the step's status after it), each with its `{status}` label object (not one per event). */
const ATTEMPT_END = new Map(['completed', 'failed', 'cancelled', 'retrying', 'timed_out'].map((status) => [status, { status }]));
const MAX_TRACKED = 100_000;
/** The `dag_id` label of runs of a tenant's DAGs past the bound; no DAG id starts with `_`. */
export const OTHER_DAGS = '_other';

export interface MetricsOptions {
  /** Looked up at each scrape (the scheduler may be wired after metrics exist). */
  queues?: () => QueueStats | undefined;
  pool?: () => PoolLike | undefined;
  /**
   * DAGs per tenant with their own `dag_id` label on `orchestrator_dag_runs_total`
   * (`--metrics-dag-labels`, its default in cli/config.ts); the first ones to end a run since
   * start-up keep it, later ones count under {@link OTHER_DAGS}. 0: every run counts under `_other`.
   */
  dagLabelsPerTenant: number;
  /** Include prom-client's default process_* / nodejs_* metrics (default true). */
  defaultMetrics?: boolean;
}

/**
 * How often the event-loop delay histogram (`nodejs_eventloop_lag_*`) samples. prom-client's
 * default, 10 ms, is a timer waking the main thread 100 times a second forever: about half of an
 * idle server's CPU (≈ 4–5 ms per second). At 100 ms a stall of 100 ms or more is always seen and
 * a shorter one in proportion to its length.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

export class OpsMetrics {
  readonly registry = new Registry();
  readonly contentType = METRICS_CONTENT_TYPE;
  private routes: Set<string> | null = null;
  private readonly runStarts = new Map<string, number>();
  private readonly attemptStarts = new Map<string, number>();

  private readonly runsTotal: Counter<'tenant' | 'status'>;
  private readonly dagRuns: Counter<'tenant' | 'dag_id' | 'status'>;
  private readonly dagLabels = new Map<string, Set<string>>();
  private readonly dagLabelsPerTenant: number;
  private readonly runDuration: Histogram<'status'>;
  private readonly stepDuration: Histogram<'status'>;
  private readonly stepRetries: Counter;
  private readonly httpTotal: Counter<'route' | 'method' | 'status'>;
  private readonly httpDuration: Histogram<'route' | 'method'>;
  private readonly rateLimited: Counter<'policy'>;
  private readonly eventsSeen: Counter;

  constructor(opts: MetricsOptions) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
      for (const name of PROMTOOL_REJECTS) this.registry.removeSingleMetric(name);
    }
    new Gauge({
      name: 'orchestrator_build_info',
      help: 'Always 1; the running version as a label.',
      labelNames: ['version'],
      registers,
    }).set({ version: VERSION }, 1);
    this.runsTotal = new Counter({
      name: 'orchestrator_runs_total',
      help: 'Runs that reached a terminal status, by tenant and status (completed, failed, cancelled).',
      labelNames: ['tenant', 'status'],
      registers,
    });
    this.dagLabelsPerTenant = opts.dagLabelsPerTenant;
    this.dagRuns = new Counter({
      name: 'orchestrator_dag_runs_total',
      help: `Runs that reached a terminal status, by tenant, DAG and status. dag_id is bounded: per tenant, the first ${this.dagLabelsPerTenant} DAGs to end a run since start-up; runs of later ones count as dag_id="${OTHER_DAGS}".`,
      labelNames: ['tenant', 'dag_id', 'status'],
      registers,
    });
    this.runDuration = new Histogram({
      name: 'orchestrator_run_duration_seconds',
      help: 'Time from a run being accepted to its terminal status, by that status.',
      labelNames: ['status'],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'orchestrator_step_duration_seconds',
      help: 'Duration of one step attempt, by the step status it ended in (completed, failed, retrying, cancelled, timed_out).',
      labelNames: ['status'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    this.stepRetries = new Counter({
      name: 'orchestrator_step_retries_total',
      help: 'Step attempts that failed and were scheduled for another attempt.',
      registers,
    });
    this.eventsSeen = new Counter({
      name: 'orchestrator_events_total',
      help: 'Run and step events committed by the scheduler.',
      registers,
    });
    new Gauge({
      name: 'orchestrator_queue_depth',
      help: 'Runs accepted and waiting to start, by tenant (read at scrape time).',
      labelNames: ['tenant'],
      registers,
      async collect() {
        const q = opts.queues?.();
        const depth = q ? await q.depthByTenant('*') : [];
        this.reset();
        for (const t of depth) this.set({ tenant: t.tenant }, t.queued);
      },
    });
    new Gauge({
      name: 'orchestrator_runs_running',
      help: 'Runs executing (running or cancelling), by tenant (read at scrape time).',
      labelNames: ['tenant'],
      registers,
      async collect() {
        const q = opts.queues?.();
        const depth = q ? await q.depthByTenant('*') : [];
        this.reset();
        for (const t of depth) this.set({ tenant: t.tenant }, t.running);
      },
    });
    new Gauge({
      name: 'orchestrator_workers',
      help: 'Worker threads: live, ready, busy (running at least one step).',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        const p = opts.pool?.();
        if (!p) return;
        const s = p.stats();
        this.set({ state: 'live' }, s.workers);
        this.set({ state: 'ready' }, s.ready);
        if (s.busy !== undefined) this.set({ state: 'busy' }, s.busy);
      },
    });
    new Gauge({
      name: 'orchestrator_plugin_hosts',
      help: 'Plugin host processes alive (one per tenant and capability profile, plus a spare).',
      registers,
      collect() {
        this.reset();
        const s = opts.pool?.()?.stats();
        if (s?.hosts !== undefined) this.set(s.hosts);
      },
    });
    this.httpTotal = new Counter({
      name: 'orchestrator_http_requests_total',
      help: 'HTTP requests answered, by route template (or "unmatched"), method and status code.',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'orchestrator_http_request_duration_seconds',
      help: 'Time to answer an HTTP request (until the response head), by route template and method.',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'orchestrator_rate_limited_total',
      help: 'Requests refused with 429 RATE_LIMITED, by rate-limit policy.',
      labelNames: ['policy'],
      registers,
    });
  }

  /** The route templates that may appear as `route` labels; anything else is `unmatched`. */
  setRoutes(templates: Iterable<string>): void {
    this.routes = new Set(templates);
  }

  /** `deps.observe`: one call per answered request. */
  readonly observe = (route: string, method: string, status: number, seconds: number): void => {
    const r = route !== 'unmatched' && (this.routes === null || this.routes.has(route)) ? route : 'unmatched';
    const m = METHODS.has(method) ? method : 'other';
    const s = Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
    this.httpTotal.inc({ route: r, method: m, status: s });
    if (Number.isFinite(seconds) && seconds >= 0) this.httpDuration.observe({ route: r, method: m }, seconds);
  };

  /** A request refused by a rate limit. */
  readonly onRateLimited = (policy: string): void => {
    this.rateLimited.inc({ policy });
  };

  /** The scheduler's post-commit listener: feeds run/step outcome metrics. Never throws. */
  readonly onEvents = (events: readonly RunEvent[]): void => {
    this.eventsSeen.inc(events.length);
    for (const e of events) {
      try {
        this.onEvent(e);
      } catch {
        /* a malformed event must not break the scheduler's commit path */
      }
    }
  };

  private onEvent(e: RunEvent): void {
    const ts = e.tsMs ?? (e.timestamp ? Date.parse(e.timestamp) : NaN);
    if (e.type === 'run.started') {
      if (Number.isFinite(ts)) remember(this.runStarts, e.runId, ts);
      return;
    }
    const end = RUN_END[e.type];
    if (end) {
      this.runsTotal.inc({ tenant: e.tenant, status: end });
      this.dagRuns.inc({ tenant: e.tenant, dag_id: this.dagLabel(e.tenant, e.dagId), status: end });
      const start = this.runStarts.get(e.runId);
      this.runStarts.delete(e.runId);
      const ms = e.durationMs ?? (start !== undefined && Number.isFinite(ts) ? ts - start : undefined);
      if (ms != null && ms >= 0) this.runDuration.observe({ status: end }, ms / 1000);
      return;
    }
    if (e.type !== 'step.updated' || !e.stepId) return;
    const key = `${e.runId}\u0000${e.stepId}`;
    if (e.status === 'running') {
      if (Number.isFinite(ts)) remember(this.attemptStarts, key, ts);
      return;
    }
    if (e.status === 'retrying') this.stepRetries.inc();
    const label = ATTEMPT_END.get(e.status);
    if (!label) return;
    const start = this.attemptStarts.get(key);
    this.attemptStarts.delete(key);
    const ms = e.durationMs ?? (start !== undefined && Number.isFinite(ts) ? ts - start : undefined);
    if (ms != null && ms >= 0) this.stepDuration.observe(label, ms / 1000);
  }

  /** The `dag_id` label of a run's DAG: its id while the tenant's bound allows, else `_other`. */
  private dagLabel(tenant: string, dagId: string): string {
    let seen = this.dagLabels.get(tenant);
    if (!seen) this.dagLabels.set(tenant, (seen = new Set()));
    if (seen.has(dagId)) return dagId;
    if (seen.size >= this.dagLabelsPerTenant) return OTHER_DAGS;
    seen.add(dagId);
    return dagId;
  }

  /**
   * The exposition text. With a tenant list, series labelled with another tenant are left out
   * (a tenant's admin does not learn of other tenants); `'*'` sees everything.
   */
  async render(tenants: '*' | readonly string[]): Promise<string> {
    const text = await this.registry.metrics();
    if (tenants === '*') return text;
    const allowed = new Set(tenants);
    return text
      .split('\n')
      .filter((line) => {
        if (line.startsWith('#')) return true;
        const m = TENANT_LABEL.exec(line);
        return !m || allowed.has(m[1]!);
      })
      .join('\n');
  }
}

const TENANT_LABEL = /[{,]tenant="((?:[^"\\]|\\.)*)"/;

/** Bounded start-time map: drops the oldest entries past MAX_TRACKED (restarts lose starts too). */
function remember(map: Map<string, number>, key: string, ts: number): void {
  map.delete(key);
  map.set(key, ts);
  if (map.size > MAX_TRACKED) {
    for (const k of map.keys()) {
      map.delete(k);
      if (map.size <= MAX_TRACKED * 0.9) break;
    }
  }
}
