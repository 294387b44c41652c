/**
 * Health (CONTRACT §7): named checks, each `{status, detail?, latencyMs?}`, combined into one
 * `ok | degraded | down` and a readiness flag. Results are cached briefly so unauthenticated
 * probes cannot make the server do more than a few cheap checks per second.
 *
 * Rules: the worst check wins, except that a non-critical check that is down only degrades
 * the server (it still answers the API). `ready` = started, not draining, and not down.
 *
 * @example
 * const health = new HealthMonitor([databaseCheck(store, dataDir), artifactStoreCheck(dir)]);
 * const { status, checks } = await health.evaluate();
 */
import { randomBytes } from 'node:crypto';
import { mkdir, statfs, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CheckResult, CheckStatus, HealthCheck, PoolLike } from './types.js';

export interface HealthReport {
  status: CheckStatus;
  checks: Record<string, CheckResult>;
}

const RANK: Record<CheckStatus, number> = { ok: 0, degraded: 1, down: 2 };

export interface HealthOptions {
  /** How long check results are reused (default 1000 ms). */
  cacheMs?: number;
  /** A check that takes longer is `down` with detail "timed out" (default 2000 ms). */
  timeoutMs?: number;
}

export class HealthMonitor {
  private readonly checks: HealthCheck[];
  private readonly cacheMs: number;
  private readonly timeoutMs: number;
  private cached: { at: number; report: Promise<HealthReport> } | null = null;

  constructor(checks: readonly HealthCheck[], opts: HealthOptions = {}) {
    this.checks = [...checks];
    this.cacheMs = opts.cacheMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** Adds a check (e.g. the scheduler's, once it exists); replaces one of the same name. */
  add(check: HealthCheck): void {
    const i = this.checks.findIndex((c) => c.name === check.name);
    if (i >= 0) this.checks[i] = check;
    else this.checks.push(check);
    this.cached = null;
  }

  evaluate(): Promise<HealthReport> {
    const now = performance.now();
    if (this.cached && now - this.cached.at < this.cacheMs) return this.cached.report;
    const report = this.runAll();
    this.cached = { at: now, report };
    return report;
  }

  private async runAll(): Promise<HealthReport> {
    const results = await Promise.all(this.checks.map((c) => this.runOne(c)));
    const checks: Record<string, CheckResult> = {};
    let status: CheckStatus = 'ok';
    this.checks.forEach((c, i) => {
      const r = results[i]!;
      checks[c.name] = r;
      const effect: CheckStatus = r.status === 'down' && !c.critical ? 'degraded' : r.status;
      if (RANK[effect] > RANK[status]) status = effect;
    });
    return { status, checks };
  }

  private async runOne(c: HealthCheck): Promise<CheckResult> {
    const start = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<CheckResult>((resolve) => {
        timer = setTimeout(() => resolve({ status: 'down', detail: `timed out after ${this.timeoutMs} ms` }), this.timeoutMs);
        timer.unref();
      });
      const r = await Promise.race([Promise.resolve().then(() => c.run()), timeout]);
      return { ...r, latencyMs: r.latencyMs ?? ms(performance.now() - start) };
    } catch (e) {
      return { status: 'down', detail: safeMessage(e), latencyMs: ms(performance.now() - start) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function ms(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** An error's code only (never paths or SQL: the detail reaches admins over HTTP). */
function safeMessage(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? `failed: ${code}` : 'failed';
}

function mib(bytes: number): string {
  return `${Math.floor(bytes / (1024 * 1024))} MiB free`;
}

/** Free bytes of the file system holding `dir`, and its size. */
async function freeSpace(dir: string): Promise<{ free: number; total: number }> {
  const s = await statfs(dir);
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
}

/** The free-space floor in bytes for a file system of `totalBytes` (`--disk-min-free`, which may be a percentage). */
export type DiskFloor = (totalBytes: number) => number;

function spaceStatus({ free, total }: { free: number; total: number }, floor: DiskFloor): CheckStatus {
  return free < floor(total) ? 'degraded' : 'ok';
}

/** The database answers a trivial query; degraded when its folder runs below the disk floor. Critical. */
export function databaseCheck(query: () => unknown, dataDir: string, floor: DiskFloor): HealthCheck {
  return {
    name: 'database',
    critical: true,
    async run() {
      const start = performance.now();
      await query();
      const latencyMs = ms(performance.now() - start);
      const space = await freeSpace(dataDir);
      const { free } = space;
      const status = spaceStatus(space, floor);
      return { status, latencyMs, detail: status === 'ok' ? mib(free) : `low disk space: ${mib(free)}` };
    },
  };
}

/** The artifact folder takes a small write (then deleted) and has free space. */
export function artifactStoreCheck(root: string, floor: DiskFloor): HealthCheck {
  return {
    name: 'artifactStore',
    async run() {
      await mkdir(root, { recursive: true });
      // `.tmp-` prefix: the store's start-up sweep removes it if we crash in between.
      const probe = join(root, `.tmp-health-${process.pid}-${randomBytes(6).toString('hex')}`);
      await writeFile(probe, 'ok');
      await unlink(probe);
      const space = await freeSpace(root);
      const { free } = space;
      const status = spaceStatus(space, floor);
      return { status, detail: status === 'ok' ? `writable, ${mib(free)}` : `writable, low disk space: ${mib(free)}` };
    },
  };
}

/**
 * Workers alive. A pool that has not started yet (it starts on the first step or on
 * `POST /admin/warm`) is fine; a started pool with fewer ready workers than configured (`size` per
 * live plugin host) is degraded.
 */
export function workerPoolCheck(pool: () => PoolLike | undefined, size: number): HealthCheck {
  return {
    name: 'workerPool',
    run() {
      const p = pool();
      if (!p) return { status: 'degraded', detail: 'no worker pool' };
      const s = p.stats();
      if (s.workers === 0) return { status: 'ok', detail: `not started (${size} workers start on the first step or POST /admin/warm)` };
      const want = size * (s.hosts ?? 1); // `--workers` threads in each live plugin host
      const detail = `${s.ready}/${want} workers ready${s.busy !== undefined ? `, ${s.busy} busy` : ''}`;
      return { status: s.ready >= want ? 'ok' : 'degraded', detail };
    },
  };
}
