/**
 * The storage ports (ports.ts) on the embedded SQLite store: each method runs the store's own
 * prepared statement synchronously and returns an already-settled Promise, so SQLite pays no
 * round trip and no thread hop. One writer connection: a transaction is `BEGIN IMMEDIATE` …
 * `COMMIT` on it, and must finish within the event-loop turn it started in (nothing else may
 * run statements inside it); a callback that awaits anything but these ports is refused.
 *
 * @example
 * const ports = new SqlitePorts(Store.open({ dataDir }));
 * await ports.transaction(async (tx) => tx.runs.createRun(row, steps));
 */
import type { Store } from './index.js';
import type { IdemKey } from './idempotency.js';
import type { EventRow } from './event-view.js';
import { inserted, settled } from './settled.js';
import { sqliteMaintenance, sqliteOps, sqliteRetention, sqliteSchedules, sqliteTransfer } from './sqlite-lifecycle.js';
import { LeaseLost, type CommitBatch, type Ports, type StorePorts } from './ports.js';

export class SqlitePorts implements StorePorts {
  readonly kind = 'sqlite';
  readonly catalog: Ports['catalog'];
  readonly runs: Ports['runs'];
  readonly events: Ports['events'];
  readonly idem: Ports['idem'];
  readonly artifacts: Ports['artifacts'];
  readonly schedules: Ports['schedules'];
  readonly retention: Ports['retention'];
  readonly transfer: Ports['transfer'];
  readonly ops: Ports['ops'];
  readonly maintenance: StorePorts['maintenance'];
  readonly leases: Ports['leases'];
  readonly endedViews: StorePorts['endedViews'];

  constructor(private readonly store: Store) {
    const s = store;
    this.endedViews = store.endedViews;
    this.catalog = {
      getVersion: (t, d, v) => settled(() => s.dags.get(t, d, v)),
      insertVersion: (row) => settled(() => inserted(() => s.dags.insert(row))),
      disableVersion: (t, d, v, now, by) => settled(() => s.dags.disable(t, d, v, now, by)),
      latestActive: (t, d) => settled(() => s.dags.latestActive(t, d)),
      listVersions: (f) => settled(() => s.dags.list(f)),
      exportPage: (t, f, after, limit) => settled(() => s.dags.exportPage(t, f, after, limit)),
      unpinned: () => settled(() => s.dags.unpinned()),
      setPins: (t, d, v, pins) => settled(() => s.dags.setPins(t, d, v, pins)),
    };
    this.runs = {
      createRun: (run, steps) =>
        settled(() => {
          s.runs.insertRun(run);
          s.runs.insertSteps(run.runId, steps);
        }),
      get: (t, id) => settled(() => s.runs.getForTenant(t, id)),
      head: (t, id) => settled(() => s.runs.headForTenant(t, id)),
      byToken: (t, token) => settled(() => s.runs.byToken(t, token)),
      steps: (id) => settled(() => s.runs.steps(id)),
      attemptsOfRun: (id) => settled(() => s.runs.attemptsOfRun(id)),
      stepsPage: (id, afterIndex, limit) => settled(() => s.runs.stepsPage(id, afterIndex, limit)),
      attemptsOfSteps: (id, stepIds) => settled(() => s.runs.attemptsOfSteps(id, stepIds)),
      list: (f) => settled(() => s.runs.list(f)),
      listKeys: (f) => settled(() => s.runs.listKeys(f)),
      getMany: (t, ids) => settled(() => s.runs.getMany(t, ids)),
      active: () => settled(() => s.runs.active()),
    };
    this.events = {
      append: (evs) => settled(() => s.events.appendMany(evs)),
      since: (t, after, limit) => settled(() => s.events.since(t, after, limit)),
      ofRun: (t, id) => settled(() => s.events.ofRun(t, id)),
      head: (t) => settled(() => s.events.head(t)),
    };
    this.idem = {
      get: (k) => settled(() => s.idem.get(k)),
      claim: (k: IdemKey, hash, now) => settled(() => inserted(() => s.idem.insertInFlight(k, hash, now))),
      complete: (k, status, body, headers, runId) => settled(() => s.idem.complete(k, status, body, headers, runId)),
      release: (k) => settled(() => s.idem.release(k)),
      expire: (before) => settled(() => s.idem.expire(before)),
    };
    this.artifacts = {
      own: (row) => settled(() => s.artifacts.insert(row)),
      owns: (t, h) => settled(() => s.artifacts.owns(t, h)),
      addRefs: (refs) =>
        settled(() => {
          for (const r of refs) s.refs.add(r.tenant, r.hash, r.holder);
        }),
    };
    this.schedules = sqliteSchedules(s);
    this.retention = sqliteRetention(s);
    this.transfer = sqliteTransfer(s);
    this.ops = sqliteOps(s);
    this.maintenance = sqliteMaintenance(s);
    const l = s.leases;
    this.leases = {
      heartbeat: (n, ms, cap) => settled(() => l.heartbeat(n, ms, cap)),
      nodes: () => settled(() => l.nodes()),
      own: (t, id, n) => settled(() => l.own(t, id, n)),
      claim: (n, limit) => settled(() => l.claim(n, limit)),
      take: (n, id) => settled(() => l.take(n, id)),
      held: (n) => settled(() => l.held(n)),
      fence: (n, runs) => settled(() => l.fence(n, runs)),
      release: (n, ids) => settled(() => l.release(n, ids)),
      leave: (n) => settled(() => l.leave(n)),
    };
  }
  setting(name: string, candidate: string): Promise<string> {
    return settled(() => this.store.settings.getOrCreate(name, candidate));
  }


  private savepoints = 0;

  savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const db = this.store.db.sqlite;
    if (!db.inTransaction) return Promise.reject(new Error('savepoint: not inside a transaction'));
    const name = `sp${++this.savepoints}`;
    db.exec(`SAVEPOINT ${name}`);
    const done = (ok: boolean): void => {
      this.savepoints--;
      if (!db.inTransaction) return;
      if (!ok) {
        db.exec(`ROLLBACK TO ${name}`);
        this.store.rolledBack();
      }
      db.exec(`RELEASE ${name}`);
    };
    let p: Promise<T>;
    try {
      p = fn();
    } catch (e) {
      done(false);
      return Promise.reject(e);
    }
    return p.then(
      (r) => {
        done(true);
        return r;
      },
      (e: unknown) => {
        done(false);
        throw e;
      },
    );
  }

  /** Transactions waiting for the open one (one connection: they run one after another). */
  private readonly waiting: Array<() => void> = [];
  private busy = false;

  transaction<T>(fn: (tx: Ports) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.busy = true;
        let p: Promise<T>;
        try {
          p = this.run(fn);
        } catch (e) {
          // BEGIN itself failed (SQLITE_BUSY): this transaction is refused, the next ones still run.
          p = Promise.reject(e);
        }
        p.then(resolve, reject)
          .finally(() => {
            this.busy = false;
            this.waiting.shift()?.();
          });
      };
      if (this.busy) this.waiting.push(start);
      else start();
    });
  }

  private run<T>(fn: (tx: Ports) => Promise<T>): Promise<T> {
    const db = this.store.db.sqlite;
    if (db.inTransaction) return Promise.reject(new Error('a store transaction is already open on the SQLite connection'));
    db.exec('BEGIN IMMEDIATE');
    // Set when an event-loop turn passes while the transaction is open: something other than
    // these ports was awaited, and other code could have written inside this transaction.
    let turned = false;
    const watch = setImmediate(() => (turned = true));
    const end = (commit: boolean): void => {
      clearImmediate(watch);
      if (!db.inTransaction) return;
      if (commit && !turned) {
        try {
          db.exec('COMMIT');
        } catch (e) {
          // A COMMIT that fails (a full disk, a deferred constraint) leaves the transaction open.
          if (db.inTransaction) db.exec('ROLLBACK');
          this.store.rolledBack();
          throw e;
        }
        this.store.committed();
      } else {
        db.exec('ROLLBACK');
        this.store.rolledBack();
      }
    };
    let p: Promise<T>;
    try {
      p = fn(this);
    } catch (e) {
      end(false);
      return Promise.reject(e);
    }
    return p.then(
      (r) => {
        const late = turned;
        end(true);
        if (late) throw new Error('SQLite transaction spanned an event-loop turn (its callback awaited something other than the store ports): rolled back');
        return r;
      },
      (e: unknown) => {
        end(false);
        throw e;
      },
    );
  }

  /** The group commit in the open transaction: its statements run synchronously (no round trip). */
  writeBatch(b: CommitBatch): Promise<EventRow[]> {
    return settled(() => this.write(b));
  }

  /** The batch's statements, in the open transaction. */
  private write(b: CommitBatch): EventRow[] {
    const s = this.store;
    if (b.fence) {
      const lost = s.leases.fence(b.fence.nodeId, b.fence.runs);
      if (lost.length > 0) throw new LeaseLost(lost);
      if (b.fence.release) s.leases.release(b.fence.nodeId, b.fence.release);
    }
    for (const r of b.runs) s.runs.updateRun(r.runId, r.status, r.outputsHash, r.endedMs, r.cancelReason, r.cancelledBy);
    if (b.steps.length > 0) s.runs.writeSteps(b.steps);
    if (b.attempts.length > 0) s.runs.writeAttempts(b.attempts);
    for (const a of b.artifacts) {
      s.artifacts.insert(a);
      s.refs.add(a.tenant, a.hash, a.holder);
    }
    for (const r of b.refs) s.refs.add(r.tenant, r.hash, r.holder);
    return s.events.appendMany(b.events);
  }

  /** One process writes everything and publishes its own commits: nothing to watch. */
  watchEvents(): Promise<{ close(): Promise<void> }> {
    return Promise.resolve({ close: () => Promise.resolve() });
  }

  /**
   * The group commit: one transaction, its statements run synchronously (no round trip). With
   * no request transaction open (the engine's case), that is the store's own synchronous
   * transaction (prepared BEGIN/COMMIT), as the engine wrote before the ports: the same cost.
   */
  commitBatch(b: CommitBatch): Promise<EventRow[]> {
    if (this.busy || this.store.db.sqlite.inTransaction) return this.transaction(() => this.writeBatch(b));
    return settled(() => this.store.tx(() => this.write(b)));
  }
}
