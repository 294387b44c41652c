/**
 * The read routes' JSON of runs, made once for ended runs (the store's precomputed views,
 * `store/ended-views.ts`): an ended run no longer changes, only retention deletes it. The JSON
 * is UTF-8 bytes, kept and answered as they are: a page is one copy of its items, with no
 * string made, flattened and encoded again per request (the 33 KB of a page of 50 runs made
 * young-generation garbage the scavenger copied: issue #20).
 */
import type { EndedViewKind, EndedViews, RunHead, RunKeyRow, RunListFilter, RunRow, StorePorts } from '../store/index.js';
import { isRunTerminal } from './states.js';
import { runView, type RunView } from './views.js';

/** An ended run no longer changes (only retention deletes it): its views can be kept. */
const hasEnded = (r: RunRow): boolean => r.endedMs !== null && isRunTerminal(r.status);

/** `value` as JSON bytes, kept as the view of this kind when the run has ended. */
function keep(views: EndedViews, row: RunRow, kind: EndedViewKind, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value));
  if (hasEnded(row)) views.put(row.tenant, row.runId, kind, json, { runId: row.runId, dagId: row.dagId, scheduleId: row.scheduleId });
  return json;
}

/**
 * The kept JSON of a run's full view with the run's ids, read without its row: a view is kept
 * only for an ended run, which no longer changes, so whether the run still exists (retention, on
 * this node or another) is all that is read, and nothing when the views are the store's alone
 * (`EndedViews.sole`: a deleted run's are forgotten as it is deleted). Undefined when no view is
 * kept (then {@link runJson}), null when the run is gone.
 */
export async function keptRunJson(ports: Pick<StorePorts, 'runs' | 'endedViews'>, tenant: string, runId: string): Promise<{ json: Uint8Array; head: RunHead } | null | undefined> {
  const json = ports.endedViews.get(tenant, runId, 'full');
  if (json === undefined) return undefined;
  const known = ports.endedViews.head(tenant, runId);
  if (known !== undefined) return { json, head: known };
  const head = await ports.runs.head(tenant, runId);
  return head === undefined ? null : { json, head };
}

/**
 * The JSON of a run's full view (`GET /runs/{id}`): an ended run's is made once. The caller has
 * read `row` (it proves the run still exists).
 *
 * @example
 * const json = await runJson(ports.endedViews, row, () => service.view(row));
 */
export async function runJson(views: EndedViews, row: RunRow, build: () => Promise<RunView>): Promise<Uint8Array> {
  const known = hasEnded(row) ? views.get(row.tenant, row.runId, 'full') : undefined;
  return known ?? keep(views, row, 'full', await build());
}

/** A list item as JSON bytes with its key; `json` undefined for a run deleted between the two reads. */
export interface KeyedJson {
  key: RunKeyRow;
  json: Uint8Array | undefined;
}

/**
 * A list page as JSON items (the view `list` rows make), with each item's key for the page
 * token: the page's keys come from the index, an ended run's item from the precomputed views,
 * the other runs' rows are read in one query. A run deleted between the two reads keeps its
 * key (the page's extent and token stay those of the keys) and has no item (`json` undefined).
 *
 * @example
 * const page = await listJson(ports, { tenant: 'demo', limit: 51 });
 */
export async function listJson(ports: Pick<StorePorts, 'runs' | 'endedViews'>, filter: RunListFilter): Promise<KeyedJson[]> {
  const { runs, endedViews: views } = ports;
  const keys = await runs.listKeys(filter);
  const out: KeyedJson[] = keys.map((key) => ({ key, json: views.get(filter.tenant, key.runId, 'item') }));
  const missing = out.filter((e) => e.json === undefined);
  if (missing.length > 0) {
    const rows = new Map((await runs.getMany(filter.tenant, missing.map((e) => e.key.runId))).map((r) => [r.runId, r]));
    for (const e of missing) {
      const row = rows.get(e.key.runId);
      if (row !== undefined) e.json = keep(views, row, 'item', runView(row));
    }
  }
  return out;
}
