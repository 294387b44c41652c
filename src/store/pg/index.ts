/**
 * The PostgreSQL store: the storage ports (../ports.ts) on a PostgreSQL database, for several
 * nodes sharing one installation (docs/SCALE-OUT.md). Driver: node-postgres (`pg`), a pool of
 * connections; every write of a request or of a group commit is one transaction on one pooled
 * connection. The schema is the SQLite store's, derived from the same definition (ddl.ts) and
 * created or checked on open (migrate.ts).
 *
 * Not wired to `serve` yet (docs/SCALE-OUT.md, "Next steps"): this slice proves it against the
 * same contract suite as the SQLite store (test/store/contract/).
 *
 * @example
 * const store = await PgStore.open({ url: 'postgres://orch@db.example:5432/orch' });
 * const rows = await store.commitBatch({ runs: [], steps: [], attempts: [], artifacts: [], refs: [], events: [ev] });
 * await store.close();
 */
import pg from 'pg';
import type { EventRow } from '../event-view.js';
import { LeaseLost, type CommitBatch, type EventWatch, type EventWatchListener, type Ports, type StorePorts } from '../ports.js';
import { watchEvents } from './watch.js';
import { conn, pgTypes, type Conn } from './conn.js';
import { PgEvents } from './events.js';
import { migratePg } from './migrate.js';
import { PgArtifacts, PgCatalog, PgIdempotency } from './records.js';
import { PgRuns } from './runs.js';
import { PgSchedules } from './schedules.js';
import { PgRetention } from './retention.js';
import { PgOpsCatalog, PgTransfer } from './transfer.js';
import { pgMaintenance } from '../maintenance.js';
import { PgLeases } from './leases.js';
import { EndedViews } from '../ended-views.js';

export { PgSchemaTooNew, migratePg } from './migrate.js';
export { copySqliteToPg, CopyTargetNotEmpty, CopyMismatch, type CopyReport, type CopiedTable } from './copy.js';

/** Creates or upgrades the schema of the database at `url` (`orchestrator migrate`). */
export async function migratePgUrl(url: string): Promise<{ from: number; to: number }> {
  const pool = new pg.Pool({ connectionString: url, max: 1, types: pgTypes });
  try {
    return await migratePg(pool);
  } finally {
    await pool.end();
  }
}
export { pgDdl } from './ddl.js';

export interface PgOpenOptions {
  /** `postgres://user:password@host:port/database` (libpq's URL form). */
  url: string;
  /** Pool size (default 10): concurrent transactions of this node. */
  maxConnections?: number;
}

/** Every port bound to one connection (the pool, or a transaction's client). */
class PgPorts implements Ports {
  readonly catalog: PgCatalog;
  readonly runs: PgRuns;
  readonly events: PgEvents;
  readonly idem: PgIdempotency;
  readonly artifacts: PgArtifacts;
  readonly schedules: PgSchedules;
  readonly retention: PgRetention;
  readonly transfer: PgTransfer;
  readonly ops: PgOpsCatalog;
  readonly leases: PgLeases;
  private savepoints = 0;
  /** @param client the transaction's connection; null for the pool (no transaction). */
  constructor(c: Conn, private readonly client: pg.PoolClient | null = null, protected readonly views?: EndedViews) {
    this.catalog = new PgCatalog(c);
    this.runs = new PgRuns(c);
    this.events = new PgEvents(c);
    this.idem = new PgIdempotency(c);
    this.artifacts = new PgArtifacts(c);
    this.schedules = new PgSchedules(c);
    this.retention = new PgRetention(c, views);
    this.transfer = new PgTransfer(c);
    this.ops = new PgOpsCatalog(c);
    this.leases = new PgLeases(c);
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const client = this.client;
    if (!client) throw new Error('savepoint: not inside a transaction');
    const name = `sp${++this.savepoints}`;
    await client.query(`savepoint ${name}`);
    try {
      const r = await fn();
      await client.query(`release savepoint ${name}`);
      return r;
    } catch (e) {
      await client.query(`rollback to savepoint ${name}`);
      await client.query(`release savepoint ${name}`);
      throw e;
    } finally {
      this.savepoints--;
    }
  }

  async writeBatch(b: CommitBatch): Promise<EventRow[]> {
    if (b.fence) {
      const lost = await this.leases.fence(b.fence.nodeId, b.fence.runs);
      if (lost.length > 0) throw new LeaseLost(lost);
      if (b.fence.release) await this.leases.release(b.fence.nodeId, b.fence.release);
    }
    await this.runs.write(b.runs, b.steps, b.attempts);
    for (const a of b.artifacts) await this.artifacts.own(a);
    await this.artifacts.addRefs([...b.artifacts, ...b.refs]);
    return this.events.append(b.events);
  }
}

export class PgStore extends PgPorts implements StorePorts {
  readonly kind = 'postgres';
  /** The last error of an idle pooled connection (the pool drops that connection and opens another). */
  lastIdleError: Error | null = null;
  /** Liveness only: copies and checks are pg_dump's, pg_basebackup's and pg_amcheck's (maintenance.ts). */
  readonly maintenance = pgMaintenance(() => this.ping(), (name, fn) => this.exclusive(name, fn));
  /**
   * Views of ended runs read on this node. Retention on this node forgets what it deletes (the
   * store's `retention` below); a run deleted by another node is never served either, since every
   * read checks the run's row or key first (ended-views.ts), and its entry ages out.
   */
  readonly endedViews: EndedViews;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
  ) {
    const endedViews = new EndedViews();
    super(conn(pool), null, endedViews);
    this.endedViews = endedViews;
    pool.on('error', (e) => (this.lastIdleError = e));
  }

  /** Connects, creates or checks the schema (migrate.ts), and returns the store. */
  static async open(opts: PgOpenOptions): Promise<PgStore> {
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.maxConnections ?? 10, types: pgTypes });
    try {
      await migratePg(pool);
    } catch (e) {
      await pool.end();
      throw e;
    }
    return new PgStore(pool, opts.url);
  }

  async transaction<T>(fn: (tx: Ports) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('begin');
      const r = await fn(new PgPorts(conn(client), client, this.views));
      await client.query('commit');
      return r;
    } catch (e) {
      await client.query('rollback').catch((re: Error) => (broken = re));
      throw e;
    } finally {
      // A connection that could not roll back is closed, never reused.
      client.release(broken);
    }
  }

  commitBatch(b: CommitBatch): Promise<EventRow[]> {
    return this.transaction((tx) => tx.writeBatch(b));
  }

  /** Wake-ups when events commit on any node (LISTEN on a dedicated connection; watch.ts). */
  watchEvents(l: EventWatchListener): Promise<EventWatch> {
    return watchEvents(this.url, pgTypes, l);
  }

  async setting(name: string, candidate: string): Promise<string> {
    // The insert's row when it stored the candidate, else the stored row. A concurrent first ask
    // makes the insert wait for the other's commit, whose row this statement's snapshot (taken
    // before) does not see: then a second statement reads it.
    const r = await this.pool.query<{ value: string }>(
      `with ins as (insert into settings (name, value) values ($1, $2) on conflict (name) do nothing returning value)
       select value from ins union all select value from settings where name = $1 limit 1`,
      [name, candidate],
    );
    if (r.rows[0]) return r.rows[0].value;
    const again = await this.pool.query<{ value: string }>('select value from settings where name = $1', [name]);
    return again.rows[0]!.value;
  }

  /**
   * Runs `fn` holding the session advisory lock of `name` (on a connection of its own, kept
   * until `fn` ends): nodes run it one at a time; a node that dies releases it with its session.
   */
  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // The connection lost while `fn` runs (the database restarted): the lock went with the
    // session, so another node may start the same work; it is written to be safe twice.
    const lost = (e: Error) => (broken = e);
    client.on('error', lost);
    try {
      await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [`stella:${name}`]);
      try {
        return await fn();
      } finally {
        await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [`stella:${name}`]).catch((e: Error) => (broken = e));
      }
    } finally {
      client.off('error', lost);
      client.release(broken);
    }
  }

  /** Runs a trivial query (the health check's liveness probe). */
  async ping(): Promise<void> {
    await this.pool.query('select 1');
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
