/**
 * Runs: the API's list (`startedUtc` DESC) with its filters (DAG, status, started from/to)
 * kept in the URL, paging by `next_page_token` (with a way back), and live status: an event
 * of a listed run updates its row at once; a run that starts while the first page is shown
 * reloads that page. A `Cancel` button on every run that has not ended (write scope).
 */
import { useEffect, useState } from 'preact/hooks';
import type { List } from '../api.js';
import { canWrite } from '../claims.js';
import { useApp, useLive, useLoad } from '../parts/context.js';
import { ErrorBox, fmtDuration, Loading, ShortId, Status, Time, Title, THead } from '../parts/ui.js';
import { href, navigate } from '../router.js';
import { RUN_STATUSES, TERMINAL, type Run } from '../types.js';

/** `datetime-local` value (local time) ↔ the API's UTC ISO-8601. */
const toIso = (local: string) => (local ? new Date(local).toISOString() : undefined);
const toLocal = (iso: string | null) => {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

export function CancelButton({ run, onDone }: { run: Run; onDone(r: Run): void }) {
  const { api, session } = useApp();
  const [error, setError] = useState<Error | null>(null);
  if (!canWrite(session.claims) || TERMINAL.has(run.status) || run.status === 'cancelling') return null;
  const cancel = async () => {
    try {
      onDone(await api.post<Run>(`/runs/${run.runId}:cancel`, { reason: 'cancelled from the console' }));
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <>
      <button type="button" class="danger small" onClick={cancel} aria-label={`Cancel run ${run.runId.slice(0, 8)}`}>
        Cancel
      </button>
      {error ? <ErrorBox error={error} what="Could not cancel" /> : null}
    </>
  );
}

const STATUS_RANK: Record<string, number> = { queued: 0, running: 1, cancelling: 2 };
/** The later of two statuses of one run: a run's status only moves forward (queued → running → cancelling → ended). */
function laterStatus(a: string, b: string | undefined): string {
  return b !== undefined && (STATUS_RANK[b] ?? 3) > (STATUS_RANK[a] ?? 3) ? b : a;
}

export function RunsView({ query }: { query: URLSearchParams }) {
  const { api } = useApp();
  const filters = { dagId: query.get('dagId') ?? '', status: query.get('status') ?? '', from: query.get('from') ?? '', to: query.get('to') ?? '' };
  const pageSize = Number(query.get('page_size') ?? 50) || 50;
  const [back, setBack] = useState<(string | undefined)[]>([]); // page tokens of the pages before this one
  const [pageToken, setPageToken] = useState<string | undefined>();
  const [draft, setDraft] = useState(filters);
  const key = JSON.stringify([filters, pageSize]);
  useEffect(() => {
    setBack([]);
    setPageToken(undefined);
    setDraft(filters);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  const page = useLoad(
    (signal) => api.get<List<Run>>('/runs', { ...filters, page_size: pageSize, page_token: pageToken }, signal),
    [key, pageToken],
  );
  // The latest run.* status of each listed run, and on the first page of every run (a reload may
  // list it): a run that ends while the reload its start asked for is on its way would otherwise
  // show the status the server read, for good. Kept for the listed runs when a page arrives.
  const [live, setLive] = useState<Record<string, string>>({});
  const listed = new Set(page.data?.items.map((r) => r.runId));
  useEffect(() => setLive((m) => Object.fromEntries(Object.entries(m).filter(([id]) => listed.has(id)))), [page.data]);
  useLive(
    (e) => {
      if (e.type.startsWith('run.') && (listed.has(e.runId) || pageToken === undefined)) {
        setLive((m) => ({ ...m, [e.runId]: laterStatus(e.status, m[e.runId]) }));
      }
      if (listed.has(e.runId)) return false;
      return e.type === 'run.started' && pageToken === undefined && (!filters.dagId || e.dagId === filters.dagId);
    },
    page.reload,
    [page.data, pageToken, key],
  );
  const apply = (e: Event) => {
    e.preventDefault();
    navigate(href('runs', { dagId: draft.dagId.trim(), status: draft.status, from: draft.from, to: draft.to }));
  };
  const items = page.data?.items ?? [];
  return (
    <section>
      <Title>Runs</Title>
      <div class="actions">
        <a class="button primary" href={href('start', { dagId: filters.dagId || undefined })}>
          Start a run
        </a>
      </div>
      <form class="filters" onSubmit={apply} aria-label="Filter runs">
        <div>
          <label for="r-dag">DAG id</label>
          <input id="r-dag" value={draft.dagId} onInput={(e) => setDraft({ ...draft, dagId: e.currentTarget.value })} placeholder="any" />
        </div>
        <div>
          <label for="r-status">Status</label>
          <select id="r-status" value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value })}>
            <option value="">any</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="r-from">Started from</label>
          <input id="r-from" type="datetime-local" value={toLocal(draft.from)} onInput={(e) => setDraft({ ...draft, from: toIso(e.currentTarget.value) ?? '' })} />
        </div>
        <div>
          <label for="r-to">Started before</label>
          <input id="r-to" type="datetime-local" value={toLocal(draft.to)} onInput={(e) => setDraft({ ...draft, to: toIso(e.currentTarget.value) ?? '' })} />
        </div>
        <button type="submit">Filter</button>
      </form>
      {page.error ? <ErrorBox error={page.error} what="Could not list runs" /> : null}
      {!page.data && !page.error ? <Loading what="runs" /> : null}
      {page.data && items.length === 0 ? <p class="empty">No run matches.</p> : null}
      {items.length > 0 ? (
        <table class="list runs">
          <caption class="sr-only">Runs, newest first</caption>
          <THead cols={['Run', 'DAG', 'Status', 'Started', 'Duration', '']} />
          <tbody>
            {items.map((r) => {
              const run = { ...r, status: laterStatus(r.status, live[r.runId]) };
              return (
                <tr key={r.runId} data-run={r.runId}>
                  <td data-label="Run">
                    <a href={href('runs', r.runId)}>
                      <ShortId id={r.runId} />
                    </a>
                  </td>
                  <td data-label="DAG">
                    {r.dagId} <span class="muted small">{r.dagVersion}</span>
                  </td>
                  <td data-label="Status">
                    <Status status={run.status} />
                  </td>
                  <td data-label="Started">
                    <Time iso={r.startedUtc} />
                  </td>
                  <td data-label="Duration">{fmtDuration(r.durationMs)}</td>
                  <td data-label="">
                    <CancelButton run={run} onDone={(n) => setLive((m) => ({ ...m, [n.runId]: n.status }))} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      <div class="pager">
        {back.length > 0 ? (
          <button type="button" onClick={() => (setPageToken(back[back.length - 1]), setBack(back.slice(0, -1)))}>
            Previous page
          </button>
        ) : null}
        {page.data?.next_page_token ? (
          <button type="button" onClick={() => (setBack([...back, pageToken]), setPageToken(page.data!.next_page_token))}>
            Next page
          </button>
        ) : null}
      </div>
    </section>
  );
}
