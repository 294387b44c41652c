import { availableParallelism } from 'node:os';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ENV_NAME_RE, refusedEnvReason } from '../dags/exec-policy.js';
// The engine's constants from their own light files, not its face: every CLI start reads
// SERVE_FLAGS, and the face loads the whole engine (zod, ajv, the store).
import type { SchedulerLimits, WorkerPoolOptions } from '../engine/index.js';
import { ABORT_GRACE_MS } from '../engine/pool/pool-types.js';
import { DEFAULT_MAX_OUTPUT_BYTES } from '../engine/pool/outputs.js';
import { pluginEnvRefusal } from '../engine/pool/plugin-env.js';
import type { FlagSpec, Flags } from './args.js';
import { parseFlags, UsageError } from './args.js';
import { nodeIdFlag, storeFlags } from './config-store.js';
export { schedulerNode } from './config-store.js';
import { parseThreshold, type Threshold } from '../lifecycle/disk.js';

/** `orchestrator serve` flags; each is also an ORCH_* variable, except `--dev` (command line only). */
export const SERVE_FLAGS: FlagSpec[] = [
  { name: 'host', kind: 'string', default: '127.0.0.1', help: 'address to listen on' },
  { name: 'port', kind: 'string', default: '8080', help: 'port (0 = any free port)' },
  { name: 'data-dir', kind: 'string', default: './data', help: 'database, artifacts and keys' },
  { name: 'store', kind: 'string', help: 'postgres://USER@HOST:PORT/DB: the installation\'s records in PostgreSQL, shared by every node (default: SQLite in --data-dir; docs/SCALE-OUT.md)' },
  { name: 'artifacts-dir', kind: 'string', help: 'with --store: the artifact store, a folder every node shares (default: <data-dir>/artifacts)' },
  { name: 'jwks', kind: 'string', help: 'JWKS file to verify bearer tokens' },
  { name: 'issuer', kind: 'string', help: 'required token issuer' },
  { name: 'audience', kind: 'string', help: 'required token audience' },
  { name: 'metrics-token-file', kind: 'string', help: 'FILE with a static bearer token that opens GET /admin/metrics only (for Prometheus; re-read on SIGHUP)' },
  { name: 'trust-dir', kind: 'list', help: 'folder of SPKI PEM public keys trusted for DAG/bundle signatures (DIR/<tenant>/: only for that tenant)' },
  { name: 'allow-unsigned', kind: 'boolean', default: false, help: 'accept unsigned DAGs' },
  { name: 'plugins-dir', kind: 'list', help: 'folder of operator step plugins (installation-wide)' },
  { name: 'dags-dir', kind: 'list', help: 'preload DIR/<tenant>/*.json and *.tgz at start-up' },
  { name: 'workers', kind: 'string', help: 'worker threads per plugin host (default: cores)' },
  { name: 'exec-allow', kind: 'list', help: 'program the exec plugin may run' },
  { name: 'exec-env-allow', kind: 'list', help: 'variable name exec steps may set in with.env (loader/interpreter variables never)' },
  { name: 'work-dir', kind: 'string', help: 'plugin hosts\' work folders, outside the data folder (default: <data-dir>-work)' },
  { name: 'plugin-user', kind: 'string', default: 'nobody', help: 'user plugin hosts run as when the server runs as root' },
  { name: 'plugin-env', kind: 'list', help: 'server environment variable passed to plugin hosts (default: none)' },
  { name: 'plugin-network', kind: 'list', help: 'plugin (or *) allowed the network when it declares capabilities.network' },
  { name: 'max-hosts', kind: 'string', default: '16', help: 'plugin host processes at most (one per tenant and capability profile)' },
  { name: 'host-idle-timeout', kind: 'string', default: '60', help: 'seconds an idle plugin host is kept' },
  { name: 'drain-timeout', kind: 'string', default: '30', help: 'seconds SIGTERM waits for in-flight steps' },
  { name: 'require-idempotency-key', kind: 'boolean', default: false, help: 'mutating requests (POST, PUT, DELETE) need Idempotency-Key' },
  // Never from ORCH_DEV: an environment variable leaking into a container must not trust
  // generated keys and mint admin tokens.
  { name: 'dev', kind: 'boolean', default: false, env: false, help: 'dev mode: local keys, admin token for tenant demo' },
  { name: 'body-limit', kind: 'string', default: '1048576', help: 'request body limit in bytes' },
  { name: 'dag-body-limit', kind: 'string', default: '4194304', help: 'DAG publish body limit in bytes' },
  { name: 'max-running-runs', kind: 'string', default: '100', help: 'per tenant: runs executing at once' },
  { name: 'max-running-runs-total', kind: 'string', default: '1000', help: 'all tenants: runs executing at once (a tenant\'s first run never waits for it)' },
  { name: 'max-queued-runs', kind: 'string', default: '10000', help: 'per tenant: runs waiting (429 QUOTA_EXCEEDED past it)' },
  { name: 'rate-limit', kind: 'string', default: '50', help: 'per tenant: POST /runs per second (burst 2x)' },
  { name: 'max-streams', kind: 'string', default: '32', help: 'per tenant: open event streams' },
  { name: 'max-steps-per-tenant', kind: 'string', default: 'auto', help: 'per tenant: steps in flight at once (auto: half the step slots, workers x 64)' },
  { name: 'reserved-step-slots', kind: 'string', default: 'auto', help: 'step slots only a tenant with nothing running may take (auto: an eighth of the slots)' },
  { name: 'worker-heap-mb', kind: 'string', default: '0', help: 'heap limit of each worker thread, MiB (0: V8 default); a step past it fails WORKER_LOST' },
  { name: 'heartbeat', kind: 'string', default: '15000', help: 'event stream heartbeat interval, ms' },
  { name: 'step-timeout', kind: 'string', default: '3600', help: 'default step timeout, seconds' },
  { name: 'sync', kind: 'string', default: 'NORMAL', help: 'SQLite synchronous: NORMAL (survives kill -9) or FULL (also power loss)' },
  { name: 'headers-timeout', kind: 'string', default: '10', help: 'seconds a client has to send its request headers' },
  { name: 'request-timeout', kind: 'string', default: '60', help: 'seconds a client has to send its whole request' },
  { name: 'metrics-dag-labels', kind: 'string', default: '100', help: 'per tenant: DAGs with their own dag_id label in orchestrator_dag_runs_total (later ones: dag_id="_other")' },
  { name: 'log-level', kind: 'string', default: 'info', help: 'pino log level' },
  // Several nodes on one PostgreSQL store (docs/SCALE-OUT.md, "Ownership and fencing").
  { name: 'node-id', kind: 'string', help: 'this node\'s name among the nodes of a PostgreSQL installation (default: hostname-pid-random)' },
  { name: 'lease-timeout', kind: 'string', default: '10', help: 'seconds after its last heartbeat that a node\'s runs are taken over by another node' },
  // Data lifecycle (docs/OPERATIONS.md).
  { name: 'retention-days', kind: 'string', help: 'prune ended runs older than N days (tenants without their own policy; default: keep for ever)' },
  { name: 'retention-archive-dir', kind: 'string', help: 'write what retention prunes here first, as NDJSON exports' },
  { name: 'retention-interval', kind: 'string', default: '3600', help: 'seconds between background retention passes (at most 3600)' },
  { name: 'artifact-gc-grace', kind: 'string', default: '3600', help: 'seconds an unreferenced artifact is kept before collection' },
  { name: 'backup-dir', kind: 'string', help: 'folder POST /admin/backup writes backups into' },
  { name: 'disk-warn-free', kind: 'string', default: '10%', help: 'health degraded below this free space (size or %)' },
  { name: 'disk-min-free', kind: 'string', default: '256MiB', help: 'writes refused (507) below this free space (size or %)' },
];

export interface ServeConfig {
  host: string;
  port: number;
  dataDir: string;
  /**
   * `--store`: the PostgreSQL URL of an installation on PostgreSQL (several nodes share it);
   * undefined: the embedded SQLite store in {@link dataDir}.
   */
  store?: string;
  /** The artifact store: `<dataDir>/artifacts`, or `--artifacts-dir` (with `--store` only). */
  artifactsDir: string;
  jwks?: string;
  issuer?: string;
  audience?: string;
  /** Static scrape token for `/admin/metrics` (docs/AUTH.md). */
  metricsTokenFile?: string;
  trustDirs: string[];
  allowUnsigned: boolean;
  pluginsDirs: string[];
  dagsDirs: string[];
  /** Worker threads per plugin host. */
  workers: number;
  execAllow: string[];
  execEnvAllow: string[];
  /** Root of the plugin hosts' work folders (never inside dataDir). */
  workDir: string;
  pluginUser: string;
  pluginEnv: string[];
  pluginNetwork: string[];
  maxHosts: number;
  hostIdleMs: number;
  drainTimeoutMs: number;
  requireIdempotencyKey: boolean;
  dev: boolean;
  bodyLimitBytes: number;
  dagBodyLimitBytes: number;
  maxRunningRuns: number;
  maxRunningRunsTotal: number;
  maxQueuedRuns: number;
  rateLimitPerSec: number;
  maxStreams: number;
  /** Step slots in all (`workers` × {@link STEP_SLOTS_PER_WORKER}) and how tenants share them (docs/RUNS.md). */
  stepSlots: number;
  maxStepsPerTenant: number;
  reservedStepSlots: number;
  /** Old-generation heap limit of each worker thread (0: V8's default). */
  workerHeapMb: number;
  heartbeatMs: number;
  stepTimeoutMs: number;
  synchronous: 'NORMAL' | 'FULL';
  /** Slow clients: headers must arrive within this, the whole request within requestTimeoutMs. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** DAGs per tenant with their own `dag_id` metric label (docs/OPS.md). */
  metricsDagLabels: number;
  logLevel: string;
  /** This node among the nodes of a PostgreSQL installation (`--node-id`). */
  nodeId: string;
  /** `--lease-timeout`: a node's runs are taken over this long after its last heartbeat. */
  leaseTimeoutMs: number;
  /** `--retention-days`: the installation's retention (null: off). */
  retentionDays: number | null;
  retentionArchiveDir?: string;
  retentionIntervalMs: number;
  artifactGcGraceMs: number;
  backupDir?: string;
  diskWarnFree: Threshold;
  diskMinFree: Threshold;
  /** Not a flag: test servers check every answer against the route table (src/http/conformance.ts). */
  validateResponses?: boolean;
}

/** Steps one worker thread runs at once (I/O-bound and no-op steps need not hold a thread). */
export const STEP_SLOTS_PER_WORKER = 64;

/** Log bytes a step attempt keeps (more is cut, with a `log truncated` line). No flag. */
export const MAX_LOG_BYTES_PER_ATTEMPT = 4 * 1024 * 1024;

/** `auto` → `auto`, else an integer in [min, max]. */
function intOrAuto(flags: Flags, name: string, min: number, max: number, auto: number): number {
  if (flags[name] === 'auto') return auto;
  const v = int(flags, name, min);
  if (v > max) throw new UsageError(`--${name} must be at most ${max} (the step slots: --workers x ${STEP_SLOTS_PER_WORKER})`);
  return v;
}

function int(flags: Flags, name: string, min: number): number {
  const v = Number(flags[name]);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer >= ${min}`);
  return v;
}

function threshold(flags: Flags, name: string): Threshold {
  try {
    return parseThreshold(String(flags[name]));
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}`);
  }
}

export function serveConfig(flags: Flags): ServeConfig {
  const list = (n: string) => ((flags[n] as string[] | undefined) ?? []).map((p) => resolve(p));
  const names = (n: string, refusal: (name: string) => string | null) =>
    ((flags[n] as string[] | undefined) ?? []).map((name) => {
      const why = ENV_NAME_RE.test(name) ? refusal(name) : 'not a variable name';
      if (why) throw new UsageError(`--${n} ${name}: refused (${why})`);
      return name;
    });
  const dataDir = resolve(String(flags['data-dir']));
  const workDir = resolve(flags['work-dir'] !== undefined ? String(flags['work-dir']) : `${dataDir}-work`);
  const within = (parent: string, child: string): boolean => {
    const r = relative(parent, child);
    return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r));
  };
  if (within(dataDir, workDir) || within(workDir, dataDir)) {
    throw new UsageError('--work-dir must be outside --data-dir (and not contain it): plugin hosts may not reach the data folder');
  }
  const { store, artifactsDir } = storeFlags(flags, dataDir, workDir, within);
  const sync = String(flags.sync).toUpperCase();
  if (sync !== 'NORMAL' && sync !== 'FULL') throw new UsageError('--sync must be NORMAL or FULL');
  const headersTimeout = int(flags, 'headers-timeout', 1);
  const requestTimeout = int(flags, 'request-timeout', 1);
  if (headersTimeout > requestTimeout) throw new UsageError('--headers-timeout must not exceed --request-timeout');
  const workers = flags.workers === undefined ? availableParallelism() : int(flags, 'workers', 1);
  const stepSlots = workers * STEP_SLOTS_PER_WORKER;
  return {
    host: String(flags.host),
    port: int(flags, 'port', 0),
    dataDir,
    store,
    artifactsDir,
    jwks: flags.jwks ? resolve(String(flags.jwks)) : undefined,
    issuer: flags.issuer as string | undefined,
    audience: flags.audience as string | undefined,
    metricsTokenFile: flags['metrics-token-file'] ? resolve(String(flags['metrics-token-file'])) : undefined,
    trustDirs: list('trust-dir'),
    allowUnsigned: flags['allow-unsigned'] === true,
    pluginsDirs: list('plugins-dir'),
    dagsDirs: list('dags-dir'),
    workers,
    execAllow: list('exec-allow'),
    execEnvAllow: names('exec-env-allow', refusedEnvReason),
    workDir,
    pluginUser: String(flags['plugin-user']),
    pluginEnv: names('plugin-env', pluginEnvRefusal),
    pluginNetwork: (flags['plugin-network'] as string[] | undefined) ?? [],
    maxHosts: int(flags, 'max-hosts', 1),
    hostIdleMs: int(flags, 'host-idle-timeout', 1) * 1000,
    drainTimeoutMs: int(flags, 'drain-timeout', 0) * 1000,
    requireIdempotencyKey: flags['require-idempotency-key'] === true,
    dev: flags.dev === true,
    bodyLimitBytes: int(flags, 'body-limit', 1024),
    dagBodyLimitBytes: int(flags, 'dag-body-limit', 1024),
    maxRunningRuns: int(flags, 'max-running-runs', 1),
    maxRunningRunsTotal: int(flags, 'max-running-runs-total', 1),
    maxQueuedRuns: int(flags, 'max-queued-runs', 1),
    rateLimitPerSec: int(flags, 'rate-limit', 1),
    maxStreams: int(flags, 'max-streams', 1),
    stepSlots,
    maxStepsPerTenant: intOrAuto(flags, 'max-steps-per-tenant', 1, stepSlots, Math.ceil(stepSlots / 2)),
    reservedStepSlots: intOrAuto(flags, 'reserved-step-slots', 0, stepSlots - 1, Math.floor(stepSlots / 8)),
    workerHeapMb: int(flags, 'worker-heap-mb', 0),
    heartbeatMs: int(flags, 'heartbeat', 10),
    stepTimeoutMs: int(flags, 'step-timeout', 1) * 1000,
    synchronous: sync,
    headersTimeoutMs: headersTimeout * 1000,
    requestTimeoutMs: requestTimeout * 1000,
    metricsDagLabels: int(flags, 'metrics-dag-labels', 0),
    logLevel: String(flags['log-level']),
    nodeId: nodeIdFlag(flags['node-id']),
    leaseTimeoutMs: int(flags, 'lease-timeout', 1) * 1000,
    retentionDays: flags['retention-days'] === undefined ? null : int(flags, 'retention-days', 0),
    retentionArchiveDir: flags['retention-archive-dir'] ? resolve(String(flags['retention-archive-dir'])) : undefined,
    retentionIntervalMs: Math.min(3600, int(flags, 'retention-interval', 1)) * 1000,
    artifactGcGraceMs: int(flags, 'artifact-gc-grace', 0) * 1000,
    backupDir: flags['backup-dir'] ? resolve(String(flags['backup-dir'])) : undefined,
    diskWarnFree: threshold(flags, 'disk-warn-free'),
    diskMinFree: threshold(flags, 'disk-min-free'),
  };
}

/**
 * The configuration when no flag or variable is set: every operational default, typed, from
 * the flags' own defaults (one definition). Tests that build a scheduler or a pool directly
 * start from it: `schedulerLimits(SERVE_DEFAULTS)`, `workerPoolSettings(SERVE_DEFAULTS)`.
 */
export const SERVE_DEFAULTS: Readonly<ServeConfig> = Object.freeze(serveConfig(parseFlags([], SERVE_FLAGS, {}).flags));

/** The scheduler's settings (docs/RUNS.md, "Fair shares"). */
export function schedulerLimits(c: ServeConfig): SchedulerLimits {
  return {
    maxRunningRuns: c.maxRunningRuns,
    maxRunningRunsTotal: c.maxRunningRunsTotal,
    maxInFlightSteps: c.stepSlots,
    maxStepsPerTenant: c.maxStepsPerTenant,
    reservedSteps: c.reservedStepSlots,
    defaultStepTimeoutMs: c.stepTimeoutMs,
  };
}

/** The operational settings of the worker pool: what it runs with but its parts (registry, artifacts, callbacks). */
export type WorkerPoolSettings = Pick<
  WorkerPoolOptions,
  'size' | 'perWorkerConcurrency' | 'execAllow' | 'execEnvAllow' | 'workDir' | 'pluginUser' | 'pluginEnv' | 'pluginNetwork' | 'maxHosts' | 'hostIdleMs' | 'abortGraceMs' | 'maxOutputBytes' | 'maxLogBytes' | 'resourceLimits'
>;

export function workerPoolSettings(c: ServeConfig): WorkerPoolSettings {
  return {
    size: c.workers,
    perWorkerConcurrency: STEP_SLOTS_PER_WORKER,
    execAllow: c.execAllow,
    execEnvAllow: c.execEnvAllow,
    workDir: c.workDir,
    pluginUser: c.pluginUser,
    pluginEnv: c.pluginEnv,
    pluginNetwork: c.pluginNetwork,
    maxHosts: c.maxHosts,
    hostIdleMs: c.hostIdleMs,
    // Fixed limits of the contract, not settings: passed so the pool gets one complete object.
    abortGraceMs: ABORT_GRACE_MS,
    maxOutputBytes: DEFAULT_MAX_OUTPUT_BYTES,
    maxLogBytes: MAX_LOG_BYTES_PER_ATTEMPT,
    resourceLimits: c.workerHeapMb > 0 ? { maxOldGenerationSizeMb: c.workerHeapMb } : undefined,
  };
}
