/**
 * Store contract: one schema. The PostgreSQL database the store creates (derived from the
 * schema definition) has the same tables, columns, nullability, defaults, keys and indexes as a
 * SQLite database built by the real migrations, records the same schema version, opens again
 * unchanged, and refuses a database of a newer version without touching it.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SCHEMA, Store } from '../../../src/store/index.js';
import { PgSchemaTooNew, PgStore, pgDdl } from '../../../src/store/pg/index.js';
import { testDatabase } from '../../helpers/pg.js';

interface Shape {
  /** Sorted: SQLite appends the columns a migration adds, the derived schema has them in definition order. */
  columns: string[];
  keys: string[];
  indexes: string[];
}

const TYPES: Record<string, string> = { TEXT: 'text', INTEGER: 'bigint' };

function sqliteShape(): Record<string, Shape> {
  const dir = mkdtempSync(join(tmpdir(), 'stella-schema-'));
  const store = Store.open({ dataDir: dir });
  try {
    const db = store.db.sqlite;
    const out: Record<string, Shape> = {};
    const tables = db.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name != '__drizzle_migrations' order by name`).pluck().all() as string[];
    for (const t of tables) {
      const cols = db.prepare(`select name, type, "notnull" as nn, dflt_value as d, pk from pragma_table_info(?) order by cid`).all(t) as Array<{ name: string; type: string; nn: number; d: string | null; pk: number }>;
      out[t] = {
        columns: cols.map((c) => `${c.name} ${TYPES[c.type]}${c.nn || (c.pk && cols.filter((x) => x.pk).length === 1) ? ' not null' : ''}${c.d === null ? '' : ` default ${c.d}`}`).sort(),
        keys: cols.filter((c) => c.pk).sort((a, b) => a.pk - b.pk).map((c) => c.name),
        indexes: (db.prepare(`select name from sqlite_master where type = 'index' and tbl_name = ? and name not like 'sqlite_autoindex_%' order by name`).pluck().all(t) as string[]),
      };
    }
    return out;
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function pgShape(c: pg.Client): Promise<Record<string, Shape>> {
  const out: Record<string, Shape> = {};
  const tables = (await c.query(`select table_name as t from information_schema.tables where table_schema = 'public' and table_name != 'schema_version' order by 1`)).rows.map((r) => r.t as string);
  for (const t of tables) {
    const cols = (await c.query(`select column_name as name, data_type as type, is_nullable as n, column_default as d, collation_name as coll
      from information_schema.columns where table_schema = 'public' and table_name = $1 order by ordinal_position`, [t])).rows;
    for (const col of cols) if (col.type === 'text') assert.equal(col.coll, 'C', `${t}.${col.name} compares in byte order`);
    const keys = (await c.query(`select a.attname as name from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
      where i.indrelid = $1::regclass and i.indisprimary order by array_position(i.indkey, a.attnum)`, [t])).rows.map((r) => r.name as string);
    const indexes = (await c.query(`select indexname from pg_indexes where tablename = $1 and indexname != $2 order by 1`, [t, `${t}_pkey`])).rows.map((r) => r.indexname as string);
    out[t] = {
      columns: cols.map((x) => `${x.name} ${x.type}${x.n === 'NO' ? ' not null' : ''}${x.d === null ? '' : ` default ${String(x.d).replace(/::text$/, '')}`}`).sort(),
      keys,
      indexes,
    };
  }
  return out;
}

test('the PostgreSQL schema is the SQLite schema; version recorded; reopen unchanged; a newer database refused', async (ctx) => {
  const db = await testDatabase(ctx);
  if (!db) return;
  after(() => db.drop());
  const store = await PgStore.open({ url: db.url });
  await store.close();
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    assert.deepEqual(await pgShape(c), sqliteShape());
    const versions = async () => (await c.query('select version::int as v from schema_version order by version')).rows.map((r) => r.v as number);
    assert.deepEqual(await versions(), [SCHEMA.version]);
    await (await PgStore.open({ url: db.url })).close();
    assert.deepEqual(await versions(), [SCHEMA.version], 'opening again applies nothing');
    await c.query('insert into schema_version (version, tag, applied_ms) values ($1, $2, 0)', [SCHEMA.version + 1, 'from-the-future']);
    await assert.rejects(PgStore.open({ url: db.url }), (e) => e instanceof PgSchemaTooNew && e.version === SCHEMA.version + 1);
    assert.deepEqual(await versions(), [SCHEMA.version, SCHEMA.version + 1], 'nothing changed');
  } finally {
    await c.end();
  }
});

test('a PostgreSQL database of schema version 7 (before run ownership) is upgraded in place to the SQLite schema', async (ctx) => {
  const db = await testDatabase(ctx);
  if (!db) return;
  after(() => db.drop());
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    // The schema as version 7 created it: every table but those 0007_run_owners and later added, and a row kept.
    const added = new Set(['nodes', 'run_owners', 'settings']);
    const later = ['"idempotency_in_flight"', '"runs_list"', '"runs_dag_list"', '"runs_schedule_list"']; // indexes of migrations after 0007
    await c.query('create table schema_version (version bigint primary key, tag text not null, applied_ms bigint not null)');
    for (const stmt of pgDdl()) {
      if ([...added].some((t) => stmt.includes(`ON "${t}"`) || stmt.startsWith(`CREATE TABLE "${t}"`)) || later.some((i) => stmt.includes(i))) continue;
      await c.query(stmt);
    }
    await c.query('alter table idempotency_keys drop column node_id'); // added by 0009
    // The run lists' indexes before 0010_runs_list_order.
    await c.query('CREATE INDEX "runs_order" ON "runs" ("tenant", "started_ms", "run_id")');
    await c.query('CREATE INDEX "runs_schedule_order" ON "runs" ("tenant", "schedule_id", "started_ms", "run_id")');
    await c.query(`insert into schema_version values (7, '0006_schedule_actors', 0)`);
    await c.query(`insert into retention_policies (tenant, max_age_days, keep_last, updated_ms) values ('kept', 3, null, 1)`);
    await (await PgStore.open({ url: db.url })).close();
    assert.deepEqual(await pgShape(c), sqliteShape());
    assert.deepEqual((await c.query('select version::int as v from schema_version order by version')).rows.map((r) => r.v), [7, 8, 9, 10, SCHEMA.version]);
    assert.equal((await c.query(`select count(*)::int as n from retention_policies where tenant = 'kept'`)).rows[0].n, 1, 'rows kept');
  } finally {
    await c.end();
  }
});
