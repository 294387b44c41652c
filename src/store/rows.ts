/**
 * One definition per record: the drizzle schema (`schema.ts`) is the source of every row type
 * and of every select list, while the queries stay hand-written prepared statements (the hot
 * paths bind positional parameters; docs/ARCHITECTURE.md, "One record shape").
 *
 * @example
 * type RunRow = Row<typeof runs, 'imported'>;      // runs.$inferSelect without `imported`
 * selectList(runs, ['imported']);                  // "run_id as runId, tenant, dag_id as dagId, …"
 */
import { getTableColumns, type InferSelectModel, type Table } from 'drizzle-orm';

/**
 * A table's row as the store reads it: drizzle's select model without the `Omit` columns, with
 * the `Opt` columns optional (callers building a row to insert may leave them out: null).
 */
export type Row<T extends Table, OmitKeys extends keyof InferSelectModel<T> = never, Opt extends keyof InferSelectModel<T> = never> = Omit<
  InferSelectModel<T>,
  OmitKeys | Opt
> &
  Partial<Pick<InferSelectModel<T>, Opt>>;

/** The select list of a table's columns in schema order, each aliased to its row key (`dag_id as dagId`). */
export function selectList(table: Table, omit: readonly string[] = []): string {
  return Object.entries(getTableColumns(table))
    .filter(([key]) => !omit.includes(key))
    .map(([key, col]) => (col.name === key ? key : `${col.name} as ${key}`))
    .join(', ');
}
