/**
 * Lists, written once for every resource: `--limit N` (default 50) or `--all`, fetched page by
 * page (`page_token`) with at most `--page-size` items per request; NDJSON streams item by
 * item, the other formats print when the list is complete. When more items exist than were
 * shown, a note on stderr says so (never in what scripts parse).
 *
 * @example
 * await printList(ctx, { path: '/runs', query: { status: 'failed' }, noun: 'runs', columns, row: (r) => ({ runId: r.runId }) });
 */
import type { FlagSpec } from '../args.js';
import { intFlag, type ClientContext } from './command.js';
import type { Query } from './http.js';
import type { Column } from './output.js';

export const LIST_FLAGS: FlagSpec[] = [
  { name: 'limit', kind: 'string', default: '50', env: false, arg: 'N', help: 'show at most N items' },
  { name: 'all', kind: 'boolean', env: false, help: 'show every item (all pages)' },
  { name: 'page-size', kind: 'string', default: '100', env: false, arg: 'N', help: 'items per request (1-500)' },
];

export interface ListSpec<T, R extends Record<string, string>> {
  path: string;
  query: Query;
  noun: string;
  columns: Column<R>[];
  row(item: T): R;
}

export async function printList<T, R extends Record<string, string>>(ctx: ClientContext, spec: ListSpec<T, R>): Promise<void> {
  const { api, out, flags } = ctx;
  const limit = flags.all === true ? undefined : intFlag(flags, 'limit', 1);
  const pageSize = intFlag(flags, 'page-size', 1, 500)!;
  const pages = api.pages<T>(spec.path, spec.query, { limit, pageSize });
  const items: T[] = [];
  let next = await pages.next();
  while (!next.done) {
    if (out.format === 'ndjson') out.json(next.value);
    else items.push(next.value);
    next = await pages.next();
  }
  if (out.format === 'json') out.json(items);
  else if (out.format === 'table') {
    if (items.length === 0) out.note(`no ${spec.noun}`);
    else out.table(items.map(spec.row), spec.columns);
  }
  if (next.value.more) out.note(`more ${spec.noun} exist: use --limit N or --all`);
}
