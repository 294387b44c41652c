/**
 * The PostgreSQL schema, derived from the one schema definition (`../schema.ts`, drizzle's
 * sqlite-core tables): the same tables, columns, keys, indexes (partial ones included) and
 * defaults, so both stores hold the same records (docs/SCALE-OUT.md, "One schema").
 *
 * Types: `text` → `text` (byte order, as SQLite compares text: lists and keyset
 * pagination order the same on both stores); `integer` → `bigint` (times are ms since the epoch).
 *
 * @example
 * pgDdl(); // ['CREATE TABLE "runs" (…)', 'CREATE INDEX "runs_list" ON "runs" (…)', …]
 */
import { getTableConfig, SQLiteSyncDialect, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { getTableColumns, is, SQL } from 'drizzle-orm';
import * as schema from '../schema.js';

/** Every table of the schema definition, in declaration order. */
export function schemaTables(): SQLiteTable[] {
  return (Object.values(schema) as unknown[]).filter((v): v is SQLiteTable => is(v, SQLiteTable));
}

const q = (name: string): string => `"${name}"`;

function pgType(sqliteType: string): string {
  if (sqliteType === 'text') return 'text COLLATE "C"';
  if (sqliteType === 'integer') return 'bigint';
  throw new Error(`no PostgreSQL type for the SQLite type ${sqliteType}: add it to store/pg/ddl.ts`);
}

function literal(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (typeof v === 'string') return `'${v.replaceAll("'", "''")}'`;
  throw new Error(`no PostgreSQL literal for the default ${String(v)}`);
}

/**
 * An index's SQL part (a partial index's predicate, a column with its order: `"started_ms" desc`)
 * as SQL text with columns unqualified (valid in both dialects).
 */
function sqlText(table: string, part: SQL): string {
  const { sql, params } = new SQLiteSyncDialect().sqlToQuery(part);
  if (params.length > 0) throw new Error(`index SQL on ${table} has parameters: write it with literals`);
  return sql.replaceAll(`${q(table)}.`, '');
}

/** The DDL of one table: CREATE TABLE, then its indexes. */
export function tableDdl(table: SQLiteTable): string[] {
  const c = getTableConfig(table);
  const cols = Object.values(getTableColumns(table)).map((col) => {
    let d = `${q(col.name)} ${pgType(col.getSQLType())}`;
    if (col.primary) d += ' PRIMARY KEY';
    if (col.notNull) d += ' NOT NULL';
    if (col.hasDefault && col.default !== undefined) d += ` DEFAULT ${literal(col.default)}`;
    return d;
  });
  for (const pk of c.primaryKeys) cols.push(`PRIMARY KEY (${pk.columns.map((x) => q(x.name)).join(', ')})`);
  const out = [`CREATE TABLE ${q(c.name)} (\n  ${cols.join(',\n  ')}\n)`];
  for (const ix of c.indexes) {
    const on = ix.config.columns.map((x) => (is(x, SQL) ? sqlText(c.name, x) : q((x as { name: string }).name))).join(', ');
    const where = ix.config.where ? ` WHERE ${sqlText(c.name, ix.config.where)}` : '';
    out.push(`CREATE ${ix.config.unique ? 'UNIQUE ' : ''}INDEX ${q(ix.config.name)} ON ${q(c.name)} (${on})${where}`);
  }
  return out;
}

/** The DDL of the whole schema definition, in order. */
export function pgDdl(): string[] {
  return schemaTables().flatMap(tableDdl);
}

/**
 * A select list with the row keys as quoted aliases (`run_id as "runId"`): PostgreSQL folds
 * unquoted aliases to lower case. The PostgreSQL twin of `../rows.ts` selectList.
 */
export function pgSelectList(table: SQLiteTable, omit: readonly string[] = []): string {
  return Object.entries(getTableColumns(table))
    .filter(([key]) => !omit.includes(key))
    .map(([key, col]) => (col.name === key ? key : `${col.name} as "${key}"`))
    .join(', ');
}
