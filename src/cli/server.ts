/**
 * The composition root: builds every part from the config, wires them, listens.
 * Used by `orchestrator serve` and by end-to-end tests (port 0, temp data folder).
 *
 * @example
 * const server = await startServer(serveConfig(flags), createLogger('info'));
 * console.log(server.url); await server.close();
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { chmodSync } from 'node:fs';
import { serve } from '@hono/node-server';
import pino, { type Logger } from 'pino';
import { createVerifier, ensureDevKeys, mintToken, type DevKeys } from '../auth/index.js';
import { AuthReloader, loadAuthConfig, type ReloadReport } from './reload.js';
import { CONSOLE_ROUTES, mountConsole } from '../console/index.js';
import { systemClock, type Clock } from '../core/index.js';
import { ArtifactStore } from '../artifacts/index.js';
import { DagService } from '../dags/service.js';
import { installationPlugins, PlanCache, reloadablePlugins, Scheduler, TenantArtifacts, WorkerPool } from '../engine/index.js';
import { RunService } from '../runs/service.js';
import { ScheduleFirer, ScheduleService } from '../schedules/index.js';
import { TrustStore } from '../dags/signature.js';
import { answerClientErrors, createApp, MAX_HEADER_BYTES, PageTokens, routeTable, withUpgradeAnswers, type AppDeps, type RouteDef } from '../http/index.js';
import { Ops } from '../ops/index.js';
import { DiskWatermarks, LifecycleMetrics, LifecycleService, prepareDataDir } from '../lifecycle/index.js';
import { IdempotencyLedger, Store } from '../store/index.js';
import { eventView, type EventRow } from '../store/events.js';
import { EventExports, EventHub } from '../events/index.js';
import { WebSocketServer } from 'ws';
import { STEP_SLOTS_PER_WORKER, type ServeConfig } from './config.js';
import { preloadDags } from './preload.js';
import { ensureDevSigningKey } from './dev.js';

export interface RunningServer {
  url: string;
  port: number;
  deps: AppDeps;
  /** The server's store (tests and tools read it; routes reach data only through services). */
  store: Store;
  routes: RouteDef[];
  devKeys?: DevKeys;
  /** SIGHUP: re-reads the JWKS, the trust folders and the scrape token file (see {@link AuthReloader}). */
  reload(): ReloadReport;
  /** Stops accepting, drains, closes the store. */
  close(): Promise<void>;
}

export function createLogger(level: string): Logger {
  // Synchronous writes to stdout: lines keep their order and none is lost on a crash; no
  // transports, so the single executable needs no extra files.
  return pino({
    level,
    base: { pid: process.pid },
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, pino.destination({ dest: 1, sync: true }));
}

export interface StartOptions {
  clock?: Clock;
  /** Called once the port is bound, before preloading (prints the `listening on` line). */
  onListening?(url: string): void;
  /**
   * Aborted (SIGTERM during start-up): start-up stops at its next step — between phases and
   * between preloaded files — closes what it opened and rejects with {@link StartupAborted}.
   */
  signal?: AbortSignal;
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
  // A newer folder is refused (nothing touched); an older one is backed up beside itself, then migrated.
  await prepareDataDir(config.dataDir, logger, { clock });
  const store = Store.open({ dataDir: config.dataDir, synchronous: config.synchronous });
  // What start-up has opened, closed in reverse order when it fails or is interrupted: a
  // failed start never leaves a listener answering 503, a worker thread or the lock behind.
  const opened: Array<() => unknown> = [() => store.close()];
  let pool: WorkerPool | undefined;
  let failed = false;
  try {
    // Only the server's user may enter the data folder: plugin hosts run as another user
    // (docs/SECURITY.md) and must not read the database, artifacts or keys at all.
    chmodSync(config.dataDir, 0o700);
    store.idem.clearInFlight();
    let devKeys: DevKeys | undefined;
    let devSigningPem: string | undefined;
    const { trust, scrapeToken } = auth;
    let verifier = auth.verifier;
    if (config.dev) {
      devKeys = await ensureDevKeys(config.dataDir);
      devSigningPem = ensureDevSigningKey(config.dataDir).publicKeyPem;
      verifier = createVerifier({ jwksFile: config.jwks ?? devKeys.jwksFile, issuer: config.issuer ?? devKeys.issuer, audience: config.audience ?? devKeys.audience });
      trust.add(devSigningPem);
    }
    const reloader = new AuthReloader({ config, logger, verifier: verifier!, trust, scrapeToken, devSigningPem });

    // The engine: plugins, artifacts (CAS + tenant ownership), worker pool, scheduler.
    // Plugins: the operator's folders (installation-wide) and DATA/tenant-plugins/<tenant>/,
    // where bundle imports install each tenant's own (docs/PLUGINS.md).
    const pluginSources = installationPlugins(config.dataDir, config.pluginsDirs);
    const registry = reloadablePlugins(pluginSources, (problem) => logger.warn({ problem }, 'plugins: a plugin folder was skipped'));
    if (pluginSources.legacy.length > 0) {
      logger.warn({ dir: pluginSources.legacy[0] }, 'plugins: folders installed by bundle imports of an earlier version are installation-wide; re-import their bundles per tenant and remove them (docs/PLUGINS.md)');
    }
    // Which plugins this server runs: name@version, whose (installation or a tenant), content hash.
    const loaded = registry.list().map((p) => ({ ref: p.ref, owner: p.builtin ? 'built-in' : (p.owner ?? 'installation'), hash: p.hash.slice(0, 12), ...(p.dir ? { dir: p.dir } : {}) }));
    logger.info({ count: loaded.length, plugins: loaded }, 'plugins: loaded');
    // Created before the artifact store: it counts the store's bytes (orchestrator_artifacts_bytes).
    const lifecycle = { ready: false, draining: false };
    // One reading of the disk and one floor (--disk-min-free) for the 507 refusals and every health check.
    const disk = new DiskWatermarks([config.dataDir, join(config.dataDir, 'artifacts')], { warnFree: config.diskWarnFree, minFree: config.diskMinFree });
    const ops = new Ops({
      store,
      diskFloor: (total) => disk.floorBytes(total),
      dataDir: config.dataDir,
      artifactsDir: join(config.dataDir, 'artifacts'),
      lifecycle,
      workers: config.workers,
      rateLimitPerSec: config.rateLimitPerSec,
      dagLabelsPerTenant: config.metricsDagLabels,
      logger,
    });
    const lifecycleMetrics = new LifecycleMetrics(ops.metrics.registry);
    const cas = new ArtifactStore(join(config.dataDir, 'artifacts'), { onChange: lifecycleMetrics.artifactBytesChanged });
    await cas.sweepTemp();
    const artifacts = new TenantArtifacts(store, cas, clock);
    pool = new WorkerPool({
      registry,
      artifacts,
      size: config.workers,
      perWorkerConcurrency: STEP_SLOTS_PER_WORKER,
      execAllow: config.execAllow,
      execEnvAllow: config.execEnvAllow,
      workDir: config.workDir,
      ownsWorkDir: true,
      pluginUser: config.pluginUser,
      pluginEnv: config.pluginEnv,
      pluginNetwork: config.pluginNetwork,
      maxHosts: config.maxHosts,
      hostIdleMs: config.hostIdleMs,
      resourceLimits: config.workerHeapMb > 0 ? { maxOldGenerationSizeMb: config.workerHeapMb } : undefined,
      warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    });
    opened.push(() => pool!.close(0));
    const plans = new PlanCache();
    const scheduler = new Scheduler({
      store,
      pool,
      logs: { put: (text) => cas.put(text) },
      plans,
      plugins: registry,
      logger,
      clock,
      limits: {
        maxRunningRuns: config.maxRunningRuns,
        maxRunningRunsTotal: config.maxRunningRunsTotal,
        maxInFlightSteps: config.stepSlots,
        maxStepsPerTenant: config.maxStepsPerTenant,
        reservedSteps: config.reservedStepSlots,
        defaultStepTimeoutMs: config.stepTimeoutMs,
      },
    });
    opened.push(() => scheduler.drain(0));
    // Events committed outside the scheduler (DAG and retention changes) reach the live stream the same way.
    const announce = (rows: readonly EventRow[]) => scheduler.events.emit('committed', [...rows]);
    const dags = new DagService({
      store,
      clock,
      trust,
      allowUnsigned: config.allowUnsigned,
      resolvePlugin: registry.resolveFor,
      execAllow: config.execAllow,
      announce,
    });
    // Versions stored before plugin pinning are pinned now, as their tenant sees the plugins.
    const pinStored = () => {
      const { pinned, unresolved } = dags.pinStoredVersions();
      if (pinned > 0) logger.info({ pinned }, 'plugins: pinned the plugins of DAG versions stored before pinning');
      if (unresolved.length > 0) logger.warn({ unresolved }, 'plugins: DAG versions stored before pinning name plugins that are not installed; their runs are refused (PLUGIN_UNAVAILABLE) until they are');
    };
    pinStored();
    const runs = new RunService({ store, scheduler, dags, plans, plugins: registry, clock, limits: { maxQueuedRuns: config.maxQueuedRuns } });
    const firer = new ScheduleFirer({ store, clock, logger, runs, scheduler });
    opened.push(() => firer.stop());
    const schedules = new ScheduleService({ store, clock, dags, plans, runs, firer });
    ops.addCheck(disk.healthCheck());
    const dataLifecycle = new LifecycleService({
      store,
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
    let hub: EventHub;
    hub = new EventHub({
      log: {
        after: (tenant, seq, limit) => store.events.since(tenant, seq, limit).map(eventView),
        lastSeq: (tenant) => store.events.head(tenant).seq,
      },
      feed: {
        subscribe(listener) {
          // Views are made only while some stream is open: the hot path pays nothing otherwise.
          const onCommitted = (rows: readonly EventRow[]) => {
            if (hub.openStreams() > 0) listener(rows.map(eventView));
          };
          scheduler.events.on('committed', onCommitted);
          return () => scheduler.events.off('committed', onCommitted);
        },
      },
      maxStreamsPerTenant: config.maxStreams,
    });
    opened.push(() => hub.close());
    const deps: AppDeps = {
      config: {
        bodyLimitBytes: config.bodyLimitBytes,
        dagBodyLimitBytes: config.dagBodyLimitBytes,
        maxJsonDepth: 64,
        requireIdempotencyKey: config.requireIdempotencyKey,
        idempotencyTtlMs: 24 * 3600 * 1000,
        allowUnsigned: config.allowUnsigned,
        validateResponses: config.validateResponses,
      },
      logger,
      clock,
      auth: verifier!,
      scrapeToken,
      pages: PageTokens.fromDataDir(config.dataDir),
      observe: ops.metrics.observe,
      lifecycle,
      services: { dags, ops, rateLimiter: ops.limiter, runs, schedules, artifacts, stream: { hub, heartbeatMs: config.heartbeatMs }, events: new EventExports(store), idempotency: new IdempotencyLedger(store), lifecycle: dataLifecycle, disk },
    };

    const reloadPlugins = () => {
      const n = registry.reload();
      pinStored();
      return n;
    };
    ops.useQueues(scheduler).usePool(pool).usePlugins({ list: registry.list, reload: reloadPlugins }).usePlans(plans).useEvents(scheduler.events);
    // Runs left in flight by the last process are repaired and committed before serving.
    checkpoint();
    scheduler.recover();
    // Then the schedules: what came due while the server was down is decided now (catch-up).
    firer.start();
    const started = pool.start();
    started.catch((err: unknown) => {
      if (!failed) logger.error({ err }, 'worker pool failed to start');
    });

    const routes = routeTable();
    ops.metrics.setRoutes([...routes.map((r) => r.path), ...CONSOLE_ROUTES]);
    const app = createApp(deps, routes);
    // The web console; under --dev its one-click sign-in gets an admin token for tenant demo.
    const keys = devKeys;
    const devToken = keys
      ? async () => ({ tenant: 'demo', token: await mintToken({ ...keys, tenants: 'demo', scopes: ['orchestrator:admin'], subject: 'dev-console' }) })
      : undefined;
    mountConsole(app, { host: config.host, devToken });
    // WebSocket upgrades go through the same app (and so the same auth, tenant and scope rules).
    const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    // Slow clients (slowloris): Node checks these timeouts every connectionsCheckingInterval
    // (default 30 s, which would let a 10 s limit stretch to 40 s), so check often enough.
    const serverOptions = {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs / 4),
      // Set, not inherited (NODE_OPTIONS could change it): the limit docs/API.md states.
      maxHeaderSize: MAX_HEADER_BYTES,
    };
    checkpoint();
    const server = serve({ fetch: withUpgradeAnswers(app.fetch), hostname: config.host, port: config.port, serverOptions, websocket: { server: wss } }) as Server;
    answerClientErrors(server, { maxHeaderSize: MAX_HEADER_BYTES });
    opened.push(() => closeListener(server));
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const port = (server.address() as AddressInfo).port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    opts.onListening?.(url);
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
    if (installed) pinStored();
    deps.lifecycle.ready = true;
    dataLifecycle.start();
    const expireTimer = setInterval(() => store.idem.expire(clock.now() - deps.config.idempotencyTtlMs), 3600_000);
    expireTimer.unref();
    let closed = false;
    return {
      url,
      port,
      deps,
      store,
      routes,
      devKeys,
      reload: () => reloader.reload(),
      async close() {
        if (closed) return;
        closed = true;
        deps.lifecycle.draining = true;
        clearInterval(expireTimer);
        hub.close();
        firer.stop(); // undecided fires are decided at the next start
        // Drain: no new runs (503), in-flight steps get up to --drain-timeout, the rest is
        // left for recovery at the next start.
        await dataLifecycle.close();
        await scheduler.drain(config.drainTimeoutMs);
        await pool!.close(0);
        await closeListener(server);
        store.close();
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

/** Stops listening and drops every open connection (keep-alive, streams). */
function closeListener(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}
