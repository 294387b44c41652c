/**
 * The ops service behind `/admin/*`: health, metrics, warm, and the rate limiter the pipeline
 * applies. Built once by the composition root; other parts are plugged in as they exist
 * (`useQueues`, `usePool`, `usePlugins`, `useEvents`, `addCheck`).
 *
 * @example
 * const ops = new Ops({ ports, dataDir, artifactsDir, lifecycle, workers: 4, rateLimitPerSec: 50, diskFloor: () => 256 * 2 ** 20, dagLabelsPerTenant: 100, logger });
 * deps.observe = ops.metrics.observe;
 * deps.services.ops = ops;
 * deps.services.rateLimiter = ops.limiter;
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { VERSION } from '../core/runtime.js';
import type { StorePorts } from '../store/index.js';
import { byString, knownTenants, storeDagCatalog, storeQueueStats } from './catalog.js';
import { artifactStoreCheck, databaseCheck, HealthMonitor, workerPoolCheck, type DiskFloor } from './health.js';
import { OpsMetrics } from './metrics.js';
import { TokenBucketLimiter } from './rate-limit.js';
import type {
  CheckResult,
  CheckStatus,
  HealthCheck,
  PlanWarmer,
  PluginSource,
  PoolLike,
  QueueStats,
  RunEventsSource,
  TenantQueue,
} from './types.js';
import { warm, type WarmResult } from './warm.js';

export interface OpsOptions {
  ports: StorePorts;
  dataDir: string;
  artifactsDir: string;
  /** The server's lifecycle flags (shared with the pipeline). */
  lifecycle: { ready: boolean; draining: boolean };
  /** Configured worker threads. */
  workers: number;
  /** `--rate-limit`: POST /runs per second per tenant; burst is twice that. */
  rateLimitPerSec: number;
  logger: Logger;
  /** The disk floor (`--disk-min-free`, its default in cli/config.ts): below it the database and artifact checks are degraded. */
  diskFloor: DiskFloor;
  /** `--metrics-dag-labels`: DAGs per tenant with a `dag_id` label of their own (metrics.ts). */
  dagLabelsPerTenant: number;
  /** Health results are reused this long (default 1000 ms). */
  healthCacheMs?: number;
}

export interface ProbeView {
  status: CheckStatus;
  ready: boolean;
}

export interface AdminHealthView extends ProbeView {
  version: string;
  uptimeSeconds: number;
  lifecycle: 'starting' | 'serving' | 'draining';
  checks: Record<string, CheckResult>;
  queues: TenantQueue[];
}

export class Ops {
  readonly metrics: OpsMetrics;
  readonly health: HealthMonitor;
  readonly limiter: TokenBucketLimiter;
  private readonly startedAt = performance.now();
  private queues: QueueStats;
  private pool?: PoolLike;
  private plugins?: PluginSource;
  private plans?: PlanWarmer;

  constructor(private readonly opts: OpsOptions) {
    this.queues = storeQueueStats(opts.ports.ops);
    const depth: QueueStats = { depthByTenant: (t) => this.depth(t) };
    this.metrics = new OpsMetrics({ queues: () => depth, pool: () => this.pool, dagLabelsPerTenant: opts.dagLabelsPerTenant });
    const minFree = opts.diskFloor;
    this.health = new HealthMonitor(
      [
        databaseCheck(() => opts.ports.maintenance.ping(), opts.dataDir, minFree),
        artifactStoreCheck(opts.artifactsDir, minFree),
        workerPoolCheck(() => this.pool, opts.workers),
      ],
      { cacheMs: opts.healthCacheMs },
    );
    this.limiter = new TokenBucketLimiter(
      { runs: { ratePerSec: opts.rateLimitPerSec, burst: 2 * opts.rateLimitPerSec } },
      { onRefused: this.metrics.onRateLimited },
    );
  }

  /** The scheduler's queue depth (replaces the store-backed count). */
  useQueues(q: QueueStats): this {
    this.queues = q;
    return this;
  }

  usePool(p: PoolLike): this {
    this.pool = p;
    return this;
  }

  /** The scheduler's plan cache, warmed by `warm()`. */
  usePlans(p: PlanWarmer): this {
    this.plans = p;
    return this;
  }

  usePlugins(p: PluginSource): this {
    this.plugins = p;
    return this;
  }

  /** Subscribes metrics to the scheduler's committed run/step events. */
  useEvents(source: RunEventsSource): this {
    source.on('committed', this.metrics.onEvents);
    return this;
  }

  addCheck(check: HealthCheck): this {
    this.health.add(check);
    return this;
  }

  /** Probe view (no token) or admin view (a token's tenants); `ready` false when down, starting or draining. */
  async healthView(tenants?: '*' | readonly string[]): Promise<ProbeView | AdminHealthView> {
    const report = await this.health.evaluate();
    const { ready: started, draining } = this.opts.lifecycle;
    const ready = started && !draining && report.status !== 'down';
    if (tenants === undefined) return { status: report.status, ready };
    const checks = { ...report.checks };
    let queues: TenantQueue[] = [];
    try {
      queues = await this.depth(tenants);
    } catch (err) {
      this.opts.logger.error({ err }, 'health: queue statistics failed');
      checks.queues = { status: 'down', detail: 'queue statistics unavailable' };
    }
    return {
      status: report.status,
      ready,
      version: VERSION,
      uptimeSeconds: Math.floor((performance.now() - this.startedAt) / 1000),
      lifecycle: draining ? 'draining' : started ? 'serving' : 'starting',
      checks,
      queues,
    };
  }

  warm(): Promise<WarmResult> {
    return warm({
      catalog: storeDagCatalog(this.opts.ports.ops),
      plans: this.plans,
      plugins: this.plugins,
      pool: this.pool,
      logger: this.opts.logger,
    });
  }

  /**
   * Queue depth by tenant. `'*'`: every known tenant (those with a DAG version, plus any the
   * queue source reports), zeros included, so series and health entries do not come and go.
   */
  private async depth(tenants: '*' | readonly string[]): Promise<TenantQueue[]> {
    if (tenants !== '*') return this.queues.depthByTenant(tenants);
    const active = await this.queues.depthByTenant('*');
    const seen = new Set(active.map((q) => q.tenant));
    const idle = (await knownTenants(this.opts.ports.ops))
      .filter((t) => !seen.has(t))
      .map((tenant) => ({ tenant, queued: 0, running: 0 }));
    return [...active, ...idle].sort((a, b) => byString(a.tenant, b.tenant));
  }
}
