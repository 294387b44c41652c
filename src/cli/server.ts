/**
 * The composition root: builds every part from the config, wires them, listens.
 * Used by `orchestrator serve` and by end-to-end tests (port 0, temp data folder).
 *
 * @example
 * const server = await startServer(serveConfig(flags), createLogger('info'));
 * console.log(server.url); await server.close();
 */
import { chmodSync } from 'node:fs';
import type { Logger } from 'pino';
import { mintToken, type DevKeys } from '../auth/index.js';
import { AuthReloader, loadAuthConfig, type ReloadReport } from './reload.js';
import { IDEMPOTENCY_TTL_MS, MAX_JSON_DEPTH, systemClock, type Clock } from '../core/index.js';
import type { WorkerPool } from '../engine/index.js';
import type { AppDeps, RouteDef } from '../http/index.js';
import { IdempotencyLedger, type Store, type StorePorts } from '../store/index.js';
import type { EventRow } from '../store/events.js';
import type { EventHub } from '../events/index.js';
import { schedulerLimits, schedulerNode, workerPoolSettings, type ServeConfig } from './config.js';
import { listen } from './listener.js';
import { openStore } from './store-open.js';

export { createLogger } from './logger.js';

export interface RunningServer {
  url: string;
  port: number;
  deps: AppDeps;
  /** The SQLite store (tests and tools read it; routes reach data only through services); undefined with `--store postgres://…`. */
  store?: Store;
  /** The same store behind the storage ports (what services use). */
  ports: StorePorts;
  routes: RouteDef[];
  devKeys?: DevKeys;
  /** SIGHUP: re-reads the JWKS, the trust folders and the scrape token file (see {@link AuthReloader}). */
  reload(): ReloadReport;
  /** Stops accepting, drains, closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  /**
   * Called once the store is open and the port is bound (prints the `listening on` line), before
   * the engine, recovery, the routes and preloading: requests that arrive meanwhile wait (parked,
   * not refused) until the app serves them (src/cli/listener.ts).
   */
  onListening?(url: string): void;
  /**
   * Aborted (SIGTERM during start-up): start-up stops at its next step — between phases and
   * between preloaded files — closes what it opened and rejects with {@link StartupAborted}.
   */
  signal?: Pick<AbortSignal, 'aborted' | 'throwIfAborted'>;
}

/** Start-up was stopped by {@link StartOptions.signal}; everything it opened is closed again. */
export class StartupAborted extends Error {}

export async function startServer(config: ServeConfig, logger: Logger, opts: StartOptions = {}): Promise<RunningServer> {
  const clock = opts.clock ?? systemClock;
  const checkpoint = () => {
    if (opts.signal?.aborted) throw new StartupAborted('start-up interrupted by a stop signal');
  };
  checkpoint();
  // The whole configuration is checked before the data folder is touched: a server that cannot
  // start (no --jwks, an unreadable key file or trust folder) creates nothing.
  const auth = loadAuthConfig(config);
  const storeOpened = await openStore(config, logger, clock);
  const { ports } = storeOpened;
  // On PostgreSQL this process is one node of the installation (leases, fencing, take-over);
  // the embedded store is one process, the data folder's lock its lease.
  const node = ports.kind === 'postgres' ? schedulerNode(config) : undefined;
  // What start-up has opened, closed in reverse order when it fails or is interrupted: a
  // failed start never leaves a listener answering 503, a worker thread or the lock behind.
  const opened: Array<() => unknown> = [() => storeOpened.close()];
  let pool: WorkerPool | undefined;
  let failed = false;
  try {
    // Only the server's user may enter the data folder: plugin hosts run as another user
    // (docs/SECURITY.md) and must not read the database, artifacts or keys at all.
    chmodSync(config.dataDir, 0o700);
    // The port is bound as soon as the data folder is ours (lock taken, schema checked): what
    // follows builds the app, and a request that arrives meanwhile is parked until it serves.
    checkpoint();
    const listener = await listen(config, (close) => opened.push(close));
    const { url, port } = listener;
    opts.onListening?.(url);
    // The engine, the services and the app: their modules are evaluated from here on (server-parts.ts).
    const parts = await import('./server-parts.js');
    const { ArtifactStore, CONSOLE_ROUTES, DagService, DiskWatermarks, EventExports, LifecycleMetrics, LifecycleService, Ops, PlanCache, RunService } = parts;
    const { ScheduleFirer, ScheduleService, Scheduler, TenantArtifacts, createApp, devAuth, eventHub, mountConsole, preloadDags, serverPlugins } = parts;
    const { trust, scrapeToken } = auth;
    const { verifier, devKeys, devSigningPem } = await devAuth(config, auth);
    const reloader = new AuthReloader({ config, logger, verifier, trust, scrapeToken, devSigningPem });

    // The engine: plugins, artifacts (CAS + tenant ownership), worker pool, scheduler.
    const { sources: pluginSources, registry } = serverPlugins(config.dataDir, config.pluginsDirs, logger);
    // Created before the artifact store: it counts the store's bytes (orchestrator_artifacts_bytes).
    const lifecycle = { ready: false, draining: false };
    // One reading of the disk and one floor (--disk-min-free) for the 507 refusals and every health check.
    const disk = new DiskWatermarks([config.dataDir, config.artifactsDir], { warnFree: config.diskWarnFree, minFree: config.diskMinFree });
    const ops = new Ops({
      ports,
      diskFloor: (total) => disk.floorBytes(total),
      dataDir: config.dataDir,
      artifactsDir: config.artifactsDir,
      lifecycle,
      workers: config.workers,
      rateLimitPerSec: config.rateLimitPerSec,
      dagLabelsPerTenant: config.metricsDagLabels,
      logger,
    });
    const lifecycleMetrics = new LifecycleMetrics(ops.metrics.registry);
    const cas = new ArtifactStore(config.artifactsDir, { onChange: lifecycleMetrics.artifactBytesChanged });
    await cas.sweepTemp();
    const artifacts = new TenantArtifacts(ports, cas, clock);
    pool = new parts.WorkerPool({
      ...workerPoolSettings(config),
      registry,
      artifacts,
      ownsWorkDir: true,
      warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    });
    opened.push(() => pool!.close(0));
    const plans = new PlanCache();
    const scheduler = new Scheduler({
      ports,
      pool,
      logs: { put: (text) => cas.put(text) },
      plans,
      plugins: registry,
      logger,
      clock,
      limits: schedulerLimits(config),
      checkpointer: storeOpened.checkpointer,
      node,
    });
    opened.push(() => scheduler.drain(0));
    // Events committed outside the scheduler (DAG and retention changes) reach the live stream the same way.
    const announce = (rows: readonly EventRow[]) => scheduler.events.emit('committed', [...rows]);
    const dags = new DagService({
      ports,
      clock,
      trust,
      allowUnsigned: config.allowUnsigned,
      resolvePlugin: registry.resolveFor,
      execAllow: config.execAllow,
      announce,
    });
    // Versions stored before plugin pinning are pinned now, as their tenant sees the plugins.
    const pinStored = async (): Promise<void> => {
      const { pinned, unresolved } = await dags.pinStoredVersions();
      if (pinned > 0) logger.info({ pinned }, 'plugins: pinned the plugins of DAG versions stored before pinning');
      if (unresolved.length > 0) logger.warn({ unresolved }, 'plugins: DAG versions stored before pinning name plugins that are not installed; their runs are refused (PLUGIN_UNAVAILABLE) until they are');
    };
    await pinStored();
    const runs = new RunService({ ports, scheduler, dags, plans, plugins: registry, clock, limits: { maxQueuedRuns: config.maxQueuedRuns } });
    const firer = new ScheduleFirer({ ports, clock, logger, runs, scheduler });
    opened.push(() => firer.stop());
    const schedules = new ScheduleService({ ports, clock, dags, plans, runs, firer });
    ops.addCheck(disk.healthCheck());
    const dataLifecycle = new LifecycleService({
      ports,
      cas,
      clock,
      logger,
      dataDir: config.dataDir,
      installation: config.retentionDays === null ? undefined : { maxAgeDays: config.retentionDays, keepLast: null },
      archiveDir: config.retentionArchiveDir,
      gcGraceMs: config.artifactGcGraceMs,
      backupDir: config.backupDir,
      intervalMs: config.retentionIntervalMs,
      metrics: lifecycleMetrics,
      announce,
    });
    opened.push(() => dataLifecycle.close());
    const hub: EventHub = eventHub(ports, scheduler.events, config.maxStreams, logger);
    opened.push(() => hub.close());
    const deps: AppDeps = {
      config: {
        bodyLimitBytes: config.bodyLimitBytes,
        dagBodyLimitBytes: config.dagBodyLimitBytes,
        maxJsonDepth: MAX_JSON_DEPTH,
        requireIdempotencyKey: config.requireIdempotencyKey,
        idempotencyTtlMs: IDEMPOTENCY_TTL_MS,
        allowUnsigned: config.allowUnsigned,
        validateResponses: config.validateResponses,
      },
      logger,
      clock,
      auth: verifier,
      scrapeToken,
      pages: storeOpened.pages,
      observe: ops.metrics.observe,
      lifecycle,
      services: { dags, ops, rateLimiter: ops.limiter, runs, schedules, artifacts, stream: { hub, heartbeatMs: config.heartbeatMs }, events: new EventExports(ports), idempotency: new IdempotencyLedger(ports, node?.id), lifecycle: dataLifecycle, disk },
    };

    const reloadPlugins = () => {
      const n = registry.reload();
      // On SQLite the ports settle without I/O: the pins are stored before any other request runs.
      pinStored().catch((err: unknown) => logger.error({ err }, 'plugins: pinning stored DAG versions failed'));
      return n;
    };
    ops.useQueues(scheduler).usePool(pool).usePlugins({ list: registry.list, reload: reloadPlugins }).usePlans(plans).useEvents(scheduler.events);
    // Runs left in flight by the last process are repaired and committed before serving.
    checkpoint();
    await scheduler.recover();
    // Then the schedules: what came due while the server was down is decided now (catch-up).
    await firer.start();

    // The route modules and their zod schemas are evaluated now, after `listening` (issue #20).
    const { routeTable } = await import('../http/routes/index.js');
    const routes = routeTable();
    ops.metrics.setRoutes([...routes.map((r) => r.path), ...CONSOLE_ROUTES]);
    const app = createApp(deps, routes);
    // The web console; under --dev its one-click sign-in gets an admin token for tenant demo.
    const keys = devKeys;
    const devToken = keys
      ? async () => ({ tenant: 'demo', token: await mintToken({ ...keys, tenants: 'demo', scopes: ['orchestrator:admin'], subject: 'dev-console' }) })
      : undefined;
    mountConsole(app, { host: config.host, devToken });
    checkpoint();
    // The HTTP adapter (and Node's undici under it) loads, and the requests parked since
    // `listening` are answered, once start-up is done — or, with DAGs to preload (which may take
    // long), now: those requests then get 503 "the server is starting" until preloading ends.
    const serveNow = () => {
      const attaching = listener.attach(app.fetch, parts.plainAnswers(deps, routes));
      attaching.catch(() => undefined); // awaited below; a failure there fails the start-up
      return attaching;
    };
    const attached = config.dagsDirs.length > 0 ? serveNow() : undefined;
    // The plugin hosts' sandbox probe (spawnSync of unshare) and the spare host start after the
    // port is bound: nothing before needs them (steps start hosts on demand; readiness never
    // waited for the pool, whose health check reports it).
    // A server closed before the pool started (a short-lived one) is not a pool failure.
    let stopping = false;
    pool.start().catch((err: unknown) => {
      if (!failed && !stopping) logger.error({ err }, 'worker pool failed to start');
    });
    if (config.dev) logger.warn('DEV MODE: tokens are minted from a locally generated key; never use --dev in production');
    let installed = false;
    const onPluginsInstalled = () => {
      installed = true;
      try {
        registry.reload(); // so the DAGs and bundles after this one see its plugins
      } catch (err) {
        logger.error({ err }, 'plugins: reloading after a bundle import failed; the loaded plugins are kept');
      }
    };
    for (const dir of config.dagsDirs) {
      await preloadDags(dir, dags, logger, { tenantPluginsDir: pluginSources.tenantRoot, onPluginsInstalled, signal: opts.signal, schedules });
    }
    checkpoint();
    if (installed) await pinStored();
    deps.lifecycle.ready = true;
    await (attached ?? serveNow());
    dataLifecycle.start();
    const expireTimer = setInterval(() => void ports.idem.expire(clock.now() - deps.config.idempotencyTtlMs).catch((err: unknown) => logger.warn({ err }, 'idempotency: expiring old keys failed')), 3600_000);
    expireTimer.unref();
    let closed = false;
    return {
      url,
      port,
      deps,
      store: storeOpened.sqlite,
      ports,
      routes,
      devKeys,
      reload: () => reloader.reload(),
      async close() {
        if (closed) return;
        closed = true;
        stopping = true;
        deps.lifecycle.draining = true;
        clearInterval(expireTimer);
        await hub.close(); // and its watch of other nodes
        firer.stop(); // undecided fires are decided at the next start
        // Drain: no new runs (503), in-flight steps get up to --drain-timeout, the rest is
        // left for recovery at the next start.
        await dataLifecycle.close();
        await scheduler.drain(config.drainTimeoutMs);
        await pool!.close(0);
        await listener.close();
        await storeOpened.close();
      },
    };
  } catch (e) {
    failed = true;
    for (const close of opened.reverse()) {
      try {
        await close();
      } catch (err) {
        logger.error({ err }, 'error while closing after a failed start-up');
      }
    }
    if (opts.signal?.aborted && !(e instanceof StartupAborted)) throw new StartupAborted('start-up interrupted by a stop signal');
    throw e;
  }
}
