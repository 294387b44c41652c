/** Ops: health, Prometheus metrics, warm-up and rate limits (CONTRACT §7; docs/OPS.md). */
export { Ops, type OpsOptions, type ProbeView, type AdminHealthView } from './ops.js';
export { OpsMetrics, METRICS_CONTENT_TYPE, type MetricsOptions } from './metrics.js';
export { HealthMonitor, databaseCheck, artifactStoreCheck, workerPoolCheck, type HealthReport } from './health.js';
export { TokenBucketLimiter, type BucketPolicy, type LimiterOptions } from './rate-limit.js';
export { warm, type WarmResult, type WarmSources } from './warm.js';
export { storeDagCatalog, storeQueueStats, knownTenants } from './catalog.js';
export type {
  QueueStats,
  TenantQueue,
  RunEvent,
  RunEventsSource,
  PoolLike,
  PluginSource,
  DagCatalog,
  HealthCheck,
  CheckResult,
  CheckStatus,
  RateLimitPolicy,
  RateLimitDecision,
  RateLimiter,
} from './types.js';
