/**
 * The pruner: one retention pass over a tenant (CONTRACT §12, docs/OPERATIONS.md). It deletes
 * ended runs past the policy with their steps, attempts, idempotency records and artifact
 * references, then the prefix of the tenant's event log that only such runs need, leaving a
 * chain checkpoint. Queued, running and cancelling runs are never touched.
 *
 * Never stalls the engine: work is done in small transactions whose size adapts to take a
 * few milliseconds each, and the event loop is yielded between them, so the scheduler's group
 * commits and HTTP requests interleave with a pass of any size. Every transaction leaves a
 * consistent database: a crash at any point loses nothing that was not being pruned.
 *
 * @example
 * const report = await pruneTenant({ ports, clock, logger, archiveDir }, 'demo', { maxAgeDays: 30, keepLast: 10 });
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/index.js';
import { eventExportRecord, type EventRow, type RunKey, type StorePorts } from '../store/index.js';
import { runRecordsOf } from '../runs/transfer.js';
import { sweepPartials, writeArchive } from './archive.js';
import { cutoffMs, isOff, type RetentionPolicy } from './policy.js';

export type PrunedKind = 'runs' | 'steps' | 'attempts' | 'events' | 'idempotency' | 'artifacts';

export interface PruneDeps {
  ports: StorePorts;
  clock: Clock;
  logger: Logger;
  /** `--retention-archive-dir`: archive what is pruned here first. */
  archiveDir?: string;
  /** Yields the event loop between transactions (default: one `setImmediate` turn). */
  pause?: () => Promise<void>;
  onPruned?(kind: PrunedKind, n: number): void;
}

export interface TenantPruneReport {
  tenant: string;
  runs: number;
  steps: number;
  attempts: number;
  idempotency: number;
  events: number;
  /** Archive files written by this pass. */
  archives: string[];
}

export const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs archived (and then deleted) together; bounds the ids held in memory. */
const RUN_CHUNK = 2000;
/** Events archived together. */
const EVENT_CHUNK = 20_000;
const PAGE = 500;
const MIN_KEY: RunKey = { startedMs: -1, runId: '' };
const MAX_KEY: RunKey = { startedMs: Number.MAX_SAFE_INTEGER, runId: '' };

/**
 * Feeds items to `fn` in transactions of adaptive size: doubled while one takes under 2 ms,
 * halved when one takes over 8 ms; the event loop is yielded after each.
 */
export class Batcher {
  private size: number;
  constructor(private readonly pause: () => Promise<void>, start = 32, private readonly max = 2000) {
    this.size = start;
  }

  async each<T>(items: readonly T[], fn: (batch: T[]) => Promise<void>): Promise<void> {
    for (let i = 0; i < items.length; ) {
      const batch = items.slice(i, i + this.size);
      const t0 = performance.now();
      await fn(batch);
      const ms = performance.now() - t0;
      if (ms < 2 && this.size < this.max) this.size = Math.min(this.max, this.size * 2);
      else if (ms > 8 && this.size > 1) this.size = Math.max(1, this.size >> 1);
      i += batch.length;
      await this.pause();
    }
  }
}

/** One retention pass over a tenant's runs, then its event log. */
export async function pruneTenant(d: PruneDeps, tenant: string, policy: RetentionPolicy): Promise<TenantPruneReport> {
  const report: TenantPruneReport = { tenant, runs: 0, steps: 0, attempts: 0, idempotency: 0, events: 0, archives: [] };
  if (isOff(policy)) return report;
  const pause = d.pause ?? nextTurn;
  const batcher = new Batcher(pause);
  if (d.archiveDir) await sweepPartials(d.archiveDir, tenant);
  const cutoff = cutoffMs(policy, d.clock.now());
  const keep = policy.keepLast ?? 0;
  const { ports } = d;
  for (const dagId of await ports.retention.dagsWithRuns(tenant)) {
    const before = keep > 0 ? await ports.retention.keepBoundary(tenant, dagId, keep) : MAX_KEY;
    if (!before) continue; // fewer than keepLast ended runs
    let after = MIN_KEY;
    for (;;) {
      const chunk: string[] = [];
      while (chunk.length < RUN_CHUNK) {
        const page = await ports.retention.eligible({ tenant, dagId, after, before, cutoffMs: cutoff, limit: PAGE });
        for (const k of page) chunk.push(k.runId);
        if (page.length > 0) after = page[page.length - 1]!;
        if (page.length < PAGE) break;
        await pause();
      }
      if (chunk.length === 0) break;
      if (d.archiveDir) {
        const a = await writeArchive({ dir: d.archiveDir, tenant, kind: 'runs', records: await runRecordsOf(ports.runs, tenant, chunk), nowMs: d.clock.now(), pause });
        report.archives.push(a.file);
      }
      await batcher.each(chunk, async (ids) => {
        const c = await ports.transaction((tx) => tx.retention.deleteRuns(ids));
        report.runs += c.runs;
        report.steps += c.steps;
        report.attempts += c.attempts;
        report.idempotency += c.idempotency;
        d.onPruned?.('runs', c.runs);
        d.onPruned?.('steps', c.steps);
        d.onPruned?.('attempts', c.attempts);
        d.onPruned?.('idempotency', c.idempotency);
      });
      if (chunk.length < RUN_CHUNK) break;
    }
  }
  await pruneEvents(d, tenant, policy, report, batcher);
  if (report.runs + report.events > 0) d.logger.info({ ...report, archives: report.archives.length }, 'retention pass pruned');
  return report;
}

/**
 * Deletes the prefix of the tenant's event log that no kept run needs: events of runs that
 * are gone, or that ended before the policy's age cutoff (their record stays, their change
 * history goes). It stops at the first event of any other run (a run in flight, or a run kept
 * that is younger than the cutoff), so the log stays one unbroken chain from its checkpoint.
 */
async function pruneEvents(d: PruneDeps, tenant: string, policy: RetentionPolicy, report: TenantPruneReport, batcher: Batcher): Promise<void> {
  const pause = d.pause ?? nextTurn;
  const cutoff = policy.maxAgeDays === null ? null : cutoffMs(policy, d.clock.now());
  for (;;) {
    const start = await d.ports.retention.checkpoint(tenant);
    const prefix: EventRow[] = [];
    let blocked = false;
    let after = start?.seq ?? 0;
    while (!blocked && prefix.length < EVENT_CHUNK) {
      const page = await d.ports.events.since(tenant, after, 1000);
      if (page.length === 0) break;
      const states = new Map((await d.ports.retention.runStates([...new Set(page.map((e) => e.runId))])).map((s) => [s.runId, s]));
      for (const e of page) {
        const s = states.get(e.runId);
        const released = !s || (cutoff !== null && s.endedMs !== null && s.endedMs < cutoff && ['completed', 'failed', 'cancelled'].includes(s.status));
        if (!released) {
          blocked = true;
          break;
        }
        prefix.push(e);
      }
      after = page[page.length - 1]!.seq;
      if (page.length < 1000) break;
      await pause();
    }
    if (prefix.length === 0) return;
    if (d.archiveDir) {
      const extend = start ? () => ({ checkpoint: { hash: start.hash, seq: start.seq, tenant } }) : undefined;
      const a = await writeArchive({ dir: d.archiveDir, tenant, kind: 'events', records: prefix.map(eventExportRecord), extend, nowMs: d.clock.now(), pause });
      report.archives.push(a.file);
    }
    await batcher.each(prefix, async (batch) => {
      const last = batch[batch.length - 1]!;
      const n = await d.ports.transaction((tx) => tx.retention.pruneEvents(tenant, last, d.clock.now()));
      report.events += n;
      d.onPruned?.('events', n);
    });
    if (blocked || prefix.length < EVENT_CHUNK) return;
  }
}
