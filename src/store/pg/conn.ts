/**
 * One PostgreSQL connection (a pool, or a client holding a transaction) as the PostgreSQL
 * store's queries use it: rows, or the count of rows changed. Every statement is a named
 * prepared statement (node-postgres parses a name once per connection), and `bigint` columns
 * (times in ms, counts) are read as numbers: every value the schema holds fits in 2^53.
 *
 * @example
 * const c = conn(pool);
 * const rows = await c.rows<{ n: number }>('select count(*)::bigint as n from runs where tenant = $1', ['demo']);
 */
import pg from 'pg';

export interface Conn {
  rows<T>(text: string, values?: readonly unknown[]): Promise<T[]>;
  /** Rows inserted, updated or deleted. */
  count(text: string, values?: readonly unknown[]): Promise<number>;
}

const names = new Map<string, string>();
/** The prepared statement's name for a query text (one name per distinct text, process-wide). */
function nameOf(text: string): string {
  let n = names.get(text);
  if (!n) {
    n = `s${names.size + 1}`;
    names.set(text, n);
  }
  return n;
}

export function conn(c: pg.Pool | pg.PoolClient): Conn {
  const run = (text: string, values: readonly unknown[] = []) => c.query({ name: nameOf(text), text, values: values as unknown[] });
  return {
    rows: async <T>(text: string, values?: readonly unknown[]) => (await run(text, values)).rows as T[],
    count: async (text: string, values?: readonly unknown[]) => (await run(text, values)).rowCount ?? 0,
  };
}

const INT8 = 20;
/** Type parsers of the store's pools: `bigint` as a JavaScript number. */
export const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};
