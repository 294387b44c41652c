/**
 * The lifecycle ports (ports.ts: schedules, retention and artifact GC, run transfer, ops'
 * cross-tenant reads, maintenance) on the embedded SQLite store, over its query objects
 * (schedules.ts, retention.ts, refs.ts, catalog.ts): each method runs the prepared statement
 * synchronously and returns a settled Promise, as sqlite-ports.ts does for the others.
 *
 * @example
 * const schedules = sqliteSchedules(store);
 * await schedules.armed();
 */
import type { Store } from './index.js';
import type { MaintenancePort, OpsCatalogPort, RetentionPort, SchedulePort, TransferPort } from './ports.js';
import { inserted, settled } from './settled.js';

export function sqliteSchedules(s: Store): SchedulePort {
  const q = s.schedules;
  return {
    get: (t, id) => settled(() => q.get(t, id)),
    insert: (row) => settled(() => inserted(() => q.insert(row))),
    replace: (r) => settled(() => q.replace(r)),
    setPaused: (t, id, paused, next, now, by) => settled(() => q.setPaused(t, id, paused, next, now, by)),
    delete: (t, id) => settled(() => q.delete(t, id)),
    recordFire: (t, id, expect, st) => settled(() => q.recordFire(t, id, expect, st)),
    takeBuffered: (t, id, fire, status, runId, error) => settled(() => q.takeBuffered(t, id, fire, status, runId, error)),
    armed: () => settled(() => q.armed()),
    list: (f) => settled(() => q.list(f)),
    activeRuns: (t, id) => settled(() => s.runs.activeOfSchedule(t, id).map((r) => r.runId)),
  };
}

export function sqliteRetention(s: Store): RetentionPort {
  const q = s.retention;
  return {
    policy: (t) => settled(() => q.policy(t)),
    policies: () => settled(() => q.policies()),
    putPolicy: (p) => settled(() => q.putPolicy(p)),
    tenants: () => settled(() => q.tenants()),
    dagsWithRuns: (t) => settled(() => q.dagsWithRuns(t)),
    keepBoundary: (t, d, keep) => settled(() => q.keepBoundary(t, d, keep)),
    eligible: (f) => settled(() => q.eligible(f)),
    runStates: (ids) => settled(() => q.runStates(ids)),
    deleteRuns: (ids) => settled(() => q.deleteRuns(ids)),
    checkpoint: (t) => settled(() => s.events.checkpoint(t)),
    pruneEvents: (t, last, now) =>
      settled(() => {
        const n = q.deleteEventsThrough(t, last.seq);
        s.events.setCheckpoint(t, last.seq, last.hash, now);
        return n;
      }),
    ownedPage: (after, limit, t) => settled(() => s.refs.ownedPage(after, limit, t)),
    deleteIfUnreferenced: (t, h, before) => settled(() => s.refs.deleteIfUnreferenced(t, h, before)),
    ownedByAnyone: (h) => settled(() => s.refs.ownedByAnyone(h)),
  };
}

export function sqliteTransfer(s: Store): TransferPort {
  return {
    insertImported: (run, steps, attempts) => settled(() => inserted(() => s.runs.insertImported(run, steps, attempts))),
  };
}

export function sqliteOps(s: Store): OpsCatalogPort {
  return {
    activeVersions: () => settled(() => s.catalog.activeVersions()),
    dagTenants: () => settled(() => s.catalog.dagTenants()),
    runCounts: (statuses, tenants) => settled(() => s.catalog.runCounts(statuses, tenants)),
  };
}

export function sqliteMaintenance(s: Store): MaintenancePort {
  return {
    ping: () => settled(() => s.ping()),
    integrityCheck: () => settled(() => s.integrityCheck()),
    snapshot: (dest, onProgress) => s.snapshot(dest, onProgress),
    exclusive: (_name, fn) => fn(),
  };
}
