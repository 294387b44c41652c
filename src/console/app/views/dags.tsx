/**
 * DAGs: every DAG of the tenant with its versions (newest first, active or disabled), its
 * description, step count and signer; filter by id or to active versions; paging through
 * the API's `next_page_token`.
 */
import { useState } from 'preact/hooks';
import type { List } from '../api.js';
import { useApp, useLoad } from '../parts/context.js';
import { ErrorBox, Loading, Time, Title, THead } from '../parts/ui.js';
import { href, navigate } from '../router.js';
import type { DagSummary } from '../types.js';

const PAGE = 200;

function group(items: DagSummary[]): [string, DagSummary[]][] {
  const by = new Map<string, DagSummary[]>();
  for (const d of items) (by.get(d.dagId) ?? by.set(d.dagId, []).get(d.dagId)!).push(d);
  return [...by.entries()];
}

export function DagsView({ query }: { query: URLSearchParams }) {
  const { api } = useApp();
  const dagId = query.get('dagId') ?? '';
  const active = query.get('active') === 'true';
  const [pageToken, setPageToken] = useState<string | undefined>();
  const [draft, setDraft] = useState(dagId);
  const page = useLoad(
    (signal) => api.get<List<DagSummary>>('/dags', { dagId: dagId || undefined, active: active || undefined, page_size: PAGE, page_token: pageToken }, signal),
    [dagId, active, pageToken],
  );
  const apply = (e: Event) => {
    e.preventDefault();
    setPageToken(undefined);
    navigate(href('dags', { dagId: draft.trim(), active: active ? 'true' : undefined }));
  };
  return (
    <section>
      <Title>DAGs</Title>
      <form class="filters" onSubmit={apply} aria-label="Filter DAGs">
        <div>
          <label for="f-dag">DAG id</label>
          <input id="f-dag" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} placeholder="any" />
        </div>
        <div class="check">
          <input
            id="f-active"
            type="checkbox"
            checked={active}
            onChange={(e) => navigate(href('dags', { dagId: dagId || undefined, active: e.currentTarget.checked ? 'true' : undefined }))}
          />
          <label for="f-active">Active versions only</label>
        </div>
        <button type="submit">Filter</button>
      </form>
      {page.error ? <ErrorBox error={page.error} what="Could not list DAGs" /> : null}
      {!page.data && !page.error ? <Loading what="DAGs" /> : null}
      {page.data && page.data.items.length === 0 ? <p class="empty">No DAG {dagId ? `named ${dagId} ` : ''}in this tenant.</p> : null}
      {page.data && page.data.items.length > 0 ? (
        <table class="list">
          <caption class="sr-only">DAGs and their versions</caption>
          <THead cols={['DAG', 'Versions', 'Steps', 'Signed by', 'Published']} />
          <tbody>
            {group(page.data.items).map(([id, versions]) => {
              const newest = versions.find((v) => v.active) ?? versions[0]!;
              return (
                <tr key={id}>
                  <td data-label="DAG">
                    <a href={href('dags', id, newest.version)} class="strong">
                      {id}
                    </a>
                    {newest.description ? <div class="muted small">{newest.description}</div> : null}
                  </td>
                  <td data-label="Versions">
                    <ul class="inline">
                      {versions.map((v) => (
                        <li key={v.version}>
                          <a href={href('dags', id, v.version)} class={v.active ? 'ver' : 'ver disabled'}>
                            {v.version}
                          </a>
                          {v.active ? null : <span class="muted small"> (disabled)</span>}
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td data-label="Steps">{newest.stepCount}</td>
                  <td data-label="Signed by">{newest.signedBy.length ? newest.signedBy.map((k) => <code key={k} title={k}>{k.slice(0, 12)}</code>) : <span class="muted">unsigned</span>}</td>
                  <td data-label="Published">
                    <Time iso={newest.createdUtc} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      <div class="pager">
        {pageToken ? (
          <button type="button" onClick={() => setPageToken(undefined)}>
            First page
          </button>
        ) : null}
        {page.data?.next_page_token ? (
          <button type="button" onClick={() => setPageToken(page.data!.next_page_token)}>
            Next page
          </button>
        ) : null}
      </div>
    </section>
  );
}
