/**
 * The server's data lifecycle (CONTRACT §12): the background retention pass (at least hourly,
 * each followed by an artifact collection), on-demand passes (`POST /admin/retention:apply`),
 * per-tenant policies, backups into `--backup-dir`, and the lifecycle metrics. Passes never
 * overlap: a pass asked for while one runs waits for it.
 *
 * @example
 * const lc = new LifecycleService({ ports, cas, clock, logger, dataDir, installation: { maxAgeDays: 30, keepLast: null }, gcGraceMs: 3_600_000, intervalMs: 3_600_000 });
 * lc.start();
 * const report = await lc.applyNow('*');
 * await lc.close();
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ArtifactStore } from '../artifacts/index.js';
import { ApiError, iso, type Clock } from '../core/index.js';
import { auditEvent, systemAudit, type Audit } from '../events/index.js';
import { MaintenanceUnsupported, type EventRow, type StorePorts } from '../store/index.js';
import { createBackup, lastBackupMs, type BackupReport } from './backup.js';
import { collectArtifacts, type GcReport } from './gc.js';
import type { LifecycleMetrics } from './metrics.js';
import { effectivePolicy, isOff, RETENTION_OFF, type EffectivePolicy, type RetentionPolicy } from './policy.js';
import { pruneTenant, type TenantPruneReport } from './prune.js';

export interface LifecycleOptions {
  ports: StorePorts;
  cas: ArtifactStore;
  clock: Clock;
  logger: Logger;
  dataDir: string;
  /** `--retention-days`: the policy of tenants without their own (default off). */
  installation?: RetentionPolicy;
  /** `--retention-archive-dir`. */
  archiveDir?: string;
  /** `--artifact-gc-grace` in ms. */
  gcGraceMs: number;
  /** `--backup-dir`: where `POST /admin/backup` writes. */
  backupDir?: string;
  /** `--retention-interval` in ms: time between background passes (at most one hour). */
  intervalMs: number;
  metrics?: LifecycleMetrics;
  /** Hands committed events (`retention.changed`, `retention.applied`) to the live stream. */
  announce?(events: readonly EventRow[]): void;
}

export interface PassReport {
  startedUtc: string;
  durationMs: number;
  tenants: TenantPruneReport[];
  artifacts: GcReport;
}

export class LifecycleService {
  private chain: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private closed = false;
  readonly installation: RetentionPolicy;

  constructor(private readonly o: LifecycleOptions) {
    this.installation = o.installation ?? RETENTION_OFF;
  }

  /** Starts the background passes (the first one an interval after start) and the metrics. */
  start(): void {
    const every = this.o.intervalMs;
    this.timer = setInterval(() => {
      this.applyNow('*').catch((err: unknown) => this.o.logger.error({ err }, 'retention pass failed'));
    }, every);
    this.timer.unref();
    void lastBackupMs(this.o.dataDir).then((ms) => ms !== undefined && this.o.metrics?.backupSucceeded(ms));
    if (this.o.metrics) void this.o.metrics.countArtifacts(this.o.cas).catch((err: unknown) => this.o.logger.warn({ err }, 'counting artifact bytes failed'));
  }

  /** Stops the background passes and waits for a running one. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.chain.catch(() => undefined);
  }

  /** The policy of each tenant. */
  policyOf(tenant: string): Promise<EffectivePolicy> {
    return effectivePolicy(this.o.ports.retention, tenant, this.installation);
  }

  /**
   * Sets a tenant's own policy (both null: retention off for it, whatever the installation's),
   * with a `retention.changed` event naming `who` (docs/API.md "Actors") in the same
   * transaction; setting the policy the tenant already has changes nothing and writes no event.
   */
  async setPolicy(tenant: string, p: RetentionPolicy, who: Audit = systemAudit()): Promise<EffectivePolicy> {
    const { ports, clock } = this.o;
    const events = await ports.transaction(async (tx) => {
      const had = await tx.retention.policy(tenant);
      if (had && had.maxAgeDays === p.maxAgeDays && had.keepLast === p.keepLast) return [];
      const now = clock.now();
      await tx.retention.putPolicy({ tenant, maxAgeDays: p.maxAgeDays, keepLast: p.keepLast, updatedMs: now });
      const status = isOff(p) ? 'disabled' : 'enabled';
      return tx.events.append([auditEvent({ tenant, type: 'retention.changed', dagId: '', status, tsMs: now }, who, { maxAgeDays: p.maxAgeDays, keepLast: p.keepLast })]);
    });
    if (events.length > 0) this.o.announce?.(events);
    return this.policyOf(tenant);
  }

  /**
   * One retention pass over `tenants` ('*': every tenant with runs), then one collection. Each
   * tenant it pruned anything of gets a `retention.applied` event naming `who` (`system` for the
   * background pass) with the counts pruned.
   */
  applyNow(tenants: '*' | readonly string[], who: Audit = systemAudit()): Promise<PassReport> {
    const run = async (): Promise<PassReport> => {
      const t0 = this.o.clock.now();
      const startedUtc = iso(t0);
      const list = tenants === '*' ? await this.o.ports.retention.tenants() : [...tenants];
      const reports: TenantPruneReport[] = [];
      const onPruned = (kind: Parameters<LifecycleMetrics['pruned']>[0], n: number) => this.o.metrics?.pruned(kind, n);
      for (const tenant of list) {
        if (this.closed) break;
        const { policy } = await this.policyOf(tenant);
        if (isOff(policy)) continue;
        const report = await pruneTenant({ ports: this.o.ports, clock: this.o.clock, logger: this.o.logger, archiveDir: this.o.archiveDir, onPruned }, tenant, policy);
        reports.push(report);
        await this.recordPass(report, who);
      }
      const artifacts = await collectArtifacts(
        { ports: this.o.ports, cas: this.o.cas, clock: this.o.clock, graceMs: this.o.gcGraceMs, dataDir: this.o.dataDir, onPruned },
        tenants,
      );
      if (artifacts.objects > 0) this.o.logger.info({ objects: artifacts.objects, bytes: artifacts.bytes }, 'artifact collection freed space');
      return { startedUtc, durationMs: this.o.clock.now() - t0, tenants: reports, artifacts };
    };
    // One pass at a time in this process (the chain) and across the nodes of the installation.
    const exclusive = () => this.o.ports.maintenance.exclusive('retention', run);
    const p = this.chain.then(exclusive, exclusive);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** The `retention.applied` event of a tenant's pass that pruned anything. */
  private async recordPass(r: TenantPruneReport, who: Audit): Promise<void> {
    const pruned = { runs: r.runs, steps: r.steps, attempts: r.attempts, idempotency: r.idempotency, events: r.events };
    if (Object.values(pruned).every((n) => n === 0)) return;
    const { ports, clock } = this.o;
    const event = auditEvent({ tenant: r.tenant, type: 'retention.applied', dagId: '', status: 'applied', tsMs: clock.now() }, who, { pruned });
    this.o.announce?.(await ports.transaction((tx) => tx.events.append([event])));
  }

  /** A backup into `--backup-dir` (`POST /admin/backup`), on the server's own connection. */
  async backup(keyPem?: string): Promise<BackupReport> {
    if (!this.o.backupDir) throw new ApiError('VALIDATION_FAILED', 'no --backup-dir is configured: start the server with --backup-dir DIR, or run orchestrator backup');
    // PostgreSQL is backed up with its own tools: its maintenance port refuses and says which.
    if (this.o.ports.kind !== 'sqlite') {
      const refusal = await this.o.ports.maintenance.snapshot(join(this.o.backupDir, 'refused')).then(() => null, (e: unknown) => (e instanceof MaintenanceUnsupported ? e : null));
      if (refusal) throw new ApiError('VALIDATION_FAILED', refusal.message);
    }
    const stamp = iso(this.o.clock.now()).replace(/[-:]/g, '').replace('.', '');
    const out = join(this.o.backupDir, `orchestrator-backup-${stamp}.tar.gz`);
    // Made on first use (0700: a backup holds every tenant's data); a missing folder was a 500.
    await mkdir(this.o.backupDir, { recursive: true, mode: 0o700 });
    const r = await createBackup({ dataDir: this.o.dataDir, out, maintenance: this.o.ports.maintenance, clock: this.o.clock, keyPem });
    this.o.metrics?.backupSucceeded(Date.parse(r.createdUtc));
    return r;
  }
}
