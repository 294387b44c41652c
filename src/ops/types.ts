/**
 * The small interfaces ops needs from other parts (scheduler, worker pool, plugin registry).
 * Their objects satisfy these structurally; nothing here imports them, so ops builds and tests
 * on its own and the composition root (src/cli/server.ts) wires the real objects in.
 */

/** Runs waiting and executing for one tenant. */
export interface TenantQueue {
  tenant: string;
  /** Runs accepted and not yet started (`queued`). */
  queued: number;
  /** Runs executing (`running` and `cancelling`). */
  running: number;
}

/** Queue depth by tenant (the scheduler's, from memory, or the store-backed fallback of catalog.ts, through the ports). */
export interface QueueStats {
  /**
   * One entry per tenant, sorted by tenant. `'*'`: every known tenant; a list: exactly those
   * tenants (zeros for a tenant with nothing queued).
   */
  depthByTenant(tenants: '*' | readonly string[]): TenantQueue[] | Promise<TenantQueue[]>;
}

/**
 * A run/step event as committed by the scheduler (CONTRACT §6), with the optional extras a
 * scheduler may attach. Only the fields below are read; anything else is ignored.
 */
export interface RunEvent {
  type: string;
  tenant: string;
  /** The run's DAG (store rows and API views carry it). */
  dagId: string;
  runId: string;
  stepId?: string | null;
  status: string;
  /** Epoch ms of the change (store row form)… */
  tsMs?: number;
  /** …or ISO-8601 (API view form). */
  timestamp?: string;
  /** When the emitter knows it: the run's / step attempt's duration. */
  durationMs?: number | null;
}

/** The scheduler's post-commit event emitter: called once per committed batch. */
export interface RunEventsSource {
  on(event: 'committed', listener: (events: readonly RunEvent[]) => void): unknown;
}

/** What health and warm need of the worker pool (`WorkerPool` satisfies it). */
export interface PoolLike {
  start(): Promise<void>;
  stats(): { hosts?: number; workers: number; ready: number; busy?: number; running?: number; queued?: number; capacity?: number; replaced?: number };
}

/** What warm needs of the plugin registry; `reload` when the registry supports it. */
export interface PluginSource {
  list(): readonly unknown[];
  /** Re-reads plugin folders; returns how many plugins are loaded afterwards. */
  reload?(): number | Promise<number>;
}

/** The scheduler's plan cache (`PlanCache` satisfies it): compiles and keeps a version's plan. */
export interface PlanWarmer {
  forRow(row: { hash: string; definition: string }): unknown;
}

/** Stored DAG versions, for warming plans. */
export interface DagCatalog {
  /** Every active DAG version of every tenant: its hash and canonical definition JSON. */
  activeVersions(): Promise<Iterable<{ hash: string; definition: string }>>;
}

export type CheckStatus = 'ok' | 'degraded' | 'down';

export interface CheckResult {
  status: CheckStatus;
  detail?: string;
  latencyMs?: number;
}

/**
 * One named health check. A `critical` check that is down takes the whole server down (503);
 * any other failing check only degrades it.
 */
export interface HealthCheck {
  name: string;
  critical?: boolean;
  run(): CheckResult | Promise<CheckResult>;
}

/** Rate-limit policies a route can declare (`rateLimit`); configured by the composition root. */
export type RateLimitPolicy = 'runs';

export interface RateLimitDecision {
  allowed: boolean;
  /** The bucket's capacity (the most requests accepted at once). */
  limit: number;
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Whole seconds until the bucket is full again (0 when full). */
  resetSeconds: number;
  /** Whole seconds (>= 1) until a request will be allowed; set when refused. */
  retryAfterSeconds?: number;
}

/** Takes one request from the bucket of (policy, tenant). Implemented by {@link TokenBucketLimiter} (rate-limit.ts); the pipeline applies it to the routes that declare a policy. */
export interface RateLimiter {
  take(policy: RateLimitPolicy, tenant: string): RateLimitDecision;
}
