/**
 * One DAG version: its graph, steps, inputs schema, hash, signer and state; the other
 * versions of the DAG; `Start a run` (write scope) and `Disable this version` (admins only,
 * with a confirmation step).
 */
import { useState } from 'preact/hooks';
import type { List } from '../api.js';
import { canWrite, isAdmin } from '../claims.js';
import { useApp, useLoad } from '../parts/context.js';
import { Graph } from '../parts/graph.js';
import { ErrorBox, Facts, Json, Loading, Time, Title, THead } from '../parts/ui.js';
import { href } from '../router.js';
import type { DagSummary, DagVersion } from '../types.js';

function Disable({ dag, onDone }: { dag: DagVersion; onDone(): void }) {
  const { api } = useApp();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const disable = async () => {
    try {
      await api.post(`/dags/${encodeURIComponent(dag.dagId)}/${encodeURIComponent(dag.version)}:disable`, {});
      setConfirming(false);
      onDone();
    } catch (e) {
      setError(e as Error);
    }
  };
  if (!dag.active) return null;
  return (
    <div class="actions">
      {confirming ? (
        <>
          <span>New runs of {dag.dagId} {dag.version} will be refused. </span>
          <button type="button" class="danger" onClick={disable}>
            Confirm: disable {dag.version}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Keep it active
          </button>
        </>
      ) : (
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Disable this version
        </button>
      )}
      {error ? <ErrorBox error={error} what="Could not disable" /> : null}
    </div>
  );
}

export function DagView({ dagId, version }: { dagId: string; version: string }) {
  const { api, session } = useApp();
  const path = `/dags/${encodeURIComponent(dagId)}/${encodeURIComponent(version)}`;
  const dag = useLoad((signal) => api.get<DagVersion>(path, undefined, signal), [path]);
  const versions = useLoad((signal) => api.get<List<DagSummary>>('/dags', { dagId, page_size: 100 }, signal), [dagId]);
  const d = dag.data;
  return (
    <section>
      <Title sub={d ? <span class={d.active ? 'status st-completed' : 'status st-cancelled'}>{d.active ? 'active' : 'disabled'}</span> : null}>
        {dagId} <span class="muted">{version}</span>
      </Title>
      {dag.error ? <ErrorBox error={dag.error} what="Could not load this DAG version" /> : null}
      {!d && !dag.error ? <Loading what="the DAG" /> : null}
      {d ? (
        <>
          {d.metadata?.description ? <p>{d.metadata.description}</p> : null}
          <div class="actions">
            {canWrite(session.claims) && d.active ? (
              <a class="button primary" href={href('start', { dagId: d.dagId, version: d.version })}>
                Start a run
              </a>
            ) : null}
            <a class="button" href={href('runs', { dagId: d.dagId })}>
              Runs of {d.dagId}
            </a>
          </div>
          {isAdmin(session.claims) ? <Disable dag={d} onDone={dag.reload} /> : null}
          <h2>Graph</h2>
          <Graph title={`Graph of ${d.dagId} ${d.version}`} steps={d.steps.map((s) => ({ id: s.id, label: s.plugin }))} edges={d.edges} />
          <Facts
            rows={[
              ['Hash', <code class="hash">{d.hash}</code>],
              ['Signed by', d.signedBy.length ? d.signedBy.map((k) => <code key={k} class="hash">{k}</code>) : 'unsigned'],
              ['Published', <Time iso={d.createdUtc} />],
              ['Disabled', <Time iso={d.disabledUtc} />],
            ]}
          />
          <h2>Steps</h2>
          <table class="list">
            <THead cols={['Step', 'Plugin', 'Trigger', 'Retries', 'Timeout', 'After']} />
            <tbody>
              {d.steps.map((s) => (
                <tr key={s.id}>
                  <td data-label="Step">
                    <code>{s.id}</code>
                  </td>
                  <td data-label="Plugin">{s.plugin}</td>
                  <td data-label="Trigger">{s.trigger ?? 'all_success'}</td>
                  <td data-label="Retries">{s.retries?.max ?? 0}</td>
                  <td data-label="Timeout">{s.timeoutMs !== undefined ? `${s.timeoutMs} ms` : 'default'}</td>
                  <td data-label="After">{d.edges.filter((e) => e.to === s.id).map((e) => e.from).join(', ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Inputs schema</h2>
          {d.inputsSchema ? <Json value={d.inputsSchema} label="Inputs schema" /> : <p class="muted">No inputs schema: any inputs are accepted.</p>}
        </>
      ) : null}
      <h2>Versions</h2>
      {versions.error ? <ErrorBox error={versions.error} what="Could not list versions" /> : null}
      <ul class="versions">
        {versions.data?.items.map((v) => (
          <li key={v.version}>
            <a href={href('dags', v.dagId, v.version)} aria-current={v.version === version ? 'page' : undefined}>
              {v.version}
            </a>{' '}
            <span class="muted small">
              {v.active ? 'active' : 'disabled'} · <Time iso={v.createdUtc} />
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
