/**
 * `orchestrator store copy`: moves a stopped embedded installation (its SQLite database) into an
 * empty PostgreSQL database, table by table, in ONE PostgreSQL transaction — the target holds
 * all of it or nothing — and verifies the copy before committing: every table's row count and a
 * SHA-256 over its rows in primary-key order, read back from PostgreSQL, must equal the source's
 * (both stores order text by bytes, so the orders agree). Runs not yet ended get an ownership row
 * held by no node (`run_owners`), so the first node to start takes them over (docs/SCALE-OUT.md).
 *
 * @example
 * const report = await copySqliteToPg(Store.open({ dataDir: './data' }), 'postgres://orch@db/orch');
 * // { tables: [{ table: 'runs', rows: 1200, sha256: '…' }, …], ownersAdded: 3 }
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { getTableColumns } from 'drizzle-orm';
import { getTableConfig, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Store } from '../index.js';
import { ACTIVE_IN } from '../runs.js';
import { pgTypes } from './conn.js';
import { schemaTables } from './ddl.js';
import { migratePg } from './migrate.js';

/** One table as copied: rows and the SHA-256 of their canonical lines, equal on both sides. */
export interface CopiedTable {
  table: string;
  rows: number;
  sha256: string;
}

export interface CopyReport {
  tables: CopiedTable[];
  /** Ownership rows added for runs not yet ended (held by no node: the first node takes them). */
  ownersAdded: number;
}

/** The target database holds records already: nothing was copied. */
export class CopyTargetNotEmpty extends Error {
  constructor(readonly tables: string[]) {
    super(`the PostgreSQL database is not empty (${tables.join(', ')} hold rows): copy only into a new, empty database. Nothing was changed.`);
    this.name = 'CopyTargetNotEmpty';
  }
}

/** The copy read back differs from the source: rolled back, nothing was changed. */
export class CopyMismatch extends Error {
  constructor(readonly table: string, source: CopiedTable, target: CopiedTable) {
    super(`the copy of ${table} differs from the source (${source.rows} rows, sha256 ${source.sha256.slice(0, 12)}… vs ${target.rows} rows, ${target.sha256.slice(0, 12)}…): rolled back, nothing was changed`);
    this.name = 'CopyMismatch';
  }
}

const BATCH = 500;
const q = (n: string): string => `"${n}"`;

interface TableShape {
  name: string;
  columns: string[];
  /** Primary key columns, in key order: the order rows are read, written and hashed in. */
  key: string[];
}

function shape(t: SQLiteTable): TableShape {
  const c = getTableConfig(t);
  const cols = Object.values(getTableColumns(t));
  const key = c.primaryKeys.length > 0 ? c.primaryKeys[0]!.columns.map((x) => x.name) : cols.filter((x) => x.primary).map((x) => x.name);
  if (key.length === 0) throw new Error(`table ${c.name} has no primary key: store copy cannot order it`);
  return { name: c.name, columns: cols.map((x) => x.name), key };
}

/** A running digest of rows as canonical lines (JSON arrays of the column values). */
function digest(): { add(row: readonly unknown[]): void; done(table: string): CopiedTable } {
  const h = createHash('sha256');
  let rows = 0;
  return {
    add(row) {
      h.update(JSON.stringify(row) + '\n');
      rows++;
    },
    done: (table) => ({ table, rows, sha256: h.digest('hex') }),
  };
}

/**
 * Copies every table of `source` (a stopped installation: open it with its lock) into the empty
 * PostgreSQL database at `url` (its schema created or checked first), verifies, commits.
 * `onTable` is told of each table as it is done.
 */
export async function copySqliteToPg(source: Store, url: string, onTable?: (t: CopiedTable) => void): Promise<CopyReport> {
  const db = source.db.sqlite;
  const pool = new pg.Pool({ connectionString: url, max: 1, types: pgTypes });
  try {
    await migratePg(pool);
    const c = await pool.connect();
    try {
      await c.query('begin');
      const tables = schemaTables().map(shape);
      const busy: string[] = [];
      for (const t of tables) if ((await c.query(`select exists (select 1 from ${q(t.name)}) as x`)).rows[0].x) busy.push(t.name);
      if (busy.length > 0) throw new CopyTargetNotEmpty(busy);
      const report: CopyReport = { tables: [], ownersAdded: 0 };
      for (const t of tables) {
        const src = await copyTable(db, c, t);
        const back = await readBack(c, t);
        if (back.rows !== src.rows || back.sha256 !== src.sha256) throw new CopyMismatch(t.name, src, back);
        report.tables.push(src);
        onTable?.(src);
      }
      report.ownersAdded = (await c.query(
        `insert into run_owners (run_id, tenant, node_id, epoch)
         select run_id, tenant, null, 0 from runs where status in (${ACTIVE_IN}) and imported = 0
         on conflict (run_id) do nothing`,
      )).rowCount ?? 0;
      await c.query('commit');
      return report;
    } catch (e) {
      await c.query('rollback').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  } finally {
    await pool.end();
  }
}

/** Reads the SQLite table in key order and inserts it in batches; returns the source's digest. */
async function copyTable(db: Store['db']['sqlite'], c: pg.PoolClient, t: TableShape): Promise<CopiedTable> {
  const d = digest();
  const read = db.prepare(`select ${t.columns.map(q).join(', ')} from ${q(t.name)} order by ${t.key.map(q).join(', ')}`).raw(true);
  const insertHead = `insert into ${q(t.name)} (${t.columns.map(q).join(', ')}) values `;
  let batch: unknown[][] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const values: unknown[] = [];
    const tuples = batch.map((row) => `(${row.map((v) => `$${values.push(v)}`).join(', ')})`);
    await c.query(insertHead + tuples.join(', '), values);
    batch = [];
  };
  for (const row of read.iterate() as IterableIterator<unknown[]>) {
    d.add(row);
    batch.push(row);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return d.done(t.name);
}

/** The table as PostgreSQL holds it now (inside the copy's transaction), in key order. */
async function readBack(c: pg.PoolClient, t: TableShape): Promise<CopiedTable> {
  const d = digest();
  const cursor = `copy_${t.name}`;
  await c.query(`declare ${q(cursor)} no scroll cursor for select ${t.columns.map(q).join(', ')} from ${q(t.name)} order by ${t.key.map(q).join(', ')}`);
  for (;;) {
    const r = await c.query({ text: `fetch ${BATCH} from ${q(cursor)}`, rowMode: 'array' });
    for (const row of r.rows as unknown[][]) d.add(row);
    if (r.rows.length < BATCH) break;
  }
  await c.query(`close ${q(cursor)}`);
  return d.done(t.name);
}
