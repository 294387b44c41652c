/**
 * The PostgreSQL store's migrations. The schema is derived from the one schema definition
 * (ddl.ts); a database records its version in `schema_version` (one row per version applied,
 * the same number SQLite keeps in `user_version`: the count of schema migrations). Several nodes
 * may start at once: migration runs under a transaction-scoped advisory lock.
 *
 * @example
 * await migratePg(pool); // creates the schema in an empty database, or checks the version
 */
import type pg from 'pg';
import { SCHEMA } from '../db.js';
import { pgDdl, tableDdl } from './ddl.js';
import { idempotencyKeys, nodes, runOwners, runs, settings } from '../schema.js';

/** Any number, the same in every node: the advisory lock key of migrations. */
const MIGRATE_LOCK = 0x5354_454c;

/** The database was migrated by a newer orchestrator: refused, nothing changed. */
export class PgSchemaTooNew extends Error {
  constructor(readonly version: number) {
    super(`the PostgreSQL database has schema version ${version}, newer than this orchestrator's ${SCHEMA.version} (${SCHEMA.tag}): run that version. Nothing was changed.`);
    this.name = 'PgSchemaTooNew';
  }
}

/**
 * Upgrades of a PostgreSQL database from an older schema version, by the version they start
 * from (the PostgreSQL store started at schema version 7). A schema change adds its step here,
 * derived from the schema definition where it can be, and test/store/contract/schema.test.ts
 * checks an upgraded database still matches a SQLite one.
 */
const UPGRADES: ReadonlyMap<number, readonly string[]> = new Map([
  // 0007_run_owners: run ownership by lease (several nodes).
  [7, [...tableDdl(nodes), ...tableDdl(runOwners)]],
  // 0008_idempotency_in_flight: the partial index start-up's clean-up of in-flight keys uses.
  [8, tableDdl(idempotencyKeys).filter((s) => s.includes('"idempotency_in_flight"'))],
  // 0009_installation_settings: values every node shares (the page-token key), and the node
  // handling an in-flight Idempotency-Key.
  [9, [...tableDdl(settings), `ALTER TABLE "idempotency_keys" ADD COLUMN "node_id" text COLLATE "C"`]],
  // 0010_runs_list_order: the run lists' order (started_ms DESC, run_id ASC) as indexes.
  [10, ['DROP INDEX "runs_order"', 'DROP INDEX "runs_schedule_order"', ...tableDdl(runs).filter((s) => /"runs_(dag_|schedule_)?list"/.test(s))]],
]);

/** Creates or checks the schema: the version the database had (0: empty) and has now. */
export async function migratePg(pool: pg.Pool, nowMs = Date.now()): Promise<{ from: number; to: number }> {
  const c = await pool.connect();
  try {
    await c.query('begin');
    await c.query('select pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
    await c.query('create table if not exists schema_version (version bigint primary key, tag text not null, applied_ms bigint not null)');
    const r = await c.query<{ v: string | null }>('select max(version)::text as v from schema_version');
    const from = r.rows[0]?.v == null ? 0 : Number(r.rows[0].v);
    let version = from;
    if (version > SCHEMA.version) throw new PgSchemaTooNew(version);
    if (version === 0) {
      for (const stmt of pgDdl()) await c.query(stmt);
      version = SCHEMA.version;
      await c.query('insert into schema_version (version, tag, applied_ms) values ($1, $2, $3)', [version, SCHEMA.tag, nowMs]);
    }
    while (version < SCHEMA.version) {
      const steps = UPGRADES.get(version);
      if (!steps) throw new Error(`no PostgreSQL upgrade from schema version ${version} to ${SCHEMA.version}`);
      for (const stmt of steps) await c.query(stmt);
      version++;
      await c.query('insert into schema_version (version, tag, applied_ms) values ($1, $2, $3)', [version, SCHEMA.tag, nowMs]);
    }
    await c.query('commit');
    return { from, to: version };
  } catch (e) {
    await c.query('rollback').catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}
