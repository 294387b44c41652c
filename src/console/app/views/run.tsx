/**
 * One run: status as text, the DAG's graph coloured by each step's state (every step a link
 * to its detail), the timeline of attempts and the steps table, all updating live from the
 * event stream; `Cancel` while it runs.
 */
import { useMemo } from 'preact/hooks';
import { useApp, useLive, useLoad } from '../parts/context.js';
import { Graph } from '../parts/graph.js';
import { Timeline } from '../parts/timeline.js';
import { ErrorBox, Facts, fmtDuration, Loading, ShortId, Status, Time, Title, THead } from '../parts/ui.js';
import { href } from '../router.js';
import type { DagVersion, Run } from '../types.js';
import { CancelButton } from './runs.js';

export function RunView({ runId }: { runId: string }) {
  const { api } = useApp();
  const run = useLoad((signal) => api.get<Run>(`/runs/${encodeURIComponent(runId)}`, undefined, signal), [runId]);
  const r = run.data;
  const dag = useLoad(
    (signal) => (r ? api.get<DagVersion>(`/dags/${encodeURIComponent(r.dagId)}/${encodeURIComponent(r.dagVersion)}`, undefined, signal) : Promise.resolve(null)),
    [r?.dagId, r?.dagVersion],
  );
  useLive((e) => e.runId === runId, run.reload, [runId]);
  const status = useMemo(() => Object.fromEntries((r?.steps ?? []).map((s) => [s.stepId, s.status])), [r]);
  const stepLink = (stepId: string) => href('runs', runId, 'steps', stepId);
  return (
    <section>
      <Title>
        Run <ShortId id={runId} />
      </Title>
      {run.error ? <ErrorBox error={run.error} what="Could not load this run" /> : null}
      {!r && !run.error ? <Loading what="the run" /> : null}
      {r ? (
        <>
          <p class="run-status" aria-live="polite">
            Status: <Status status={r.status} />
          </p>
          <div class="actions">
            <CancelButton run={r} onDone={run.reload} />
            <a class="button" href={href('start', { dagId: r.dagId, version: r.dagVersion })}>
              Start another run of {r.dagId}
            </a>
          </div>
          <Facts
            rows={[
              ['Run id', <code>{r.runId}</code>],
              ['DAG', <a href={href('dags', r.dagId, r.dagVersion)}>{`${r.dagId} ${r.dagVersion}`}</a>],
              ['Started', <Time iso={r.startedUtc} />],
              ['Ended', <Time iso={r.endedUtc} />],
              ['Duration', fmtDuration(r.durationMs)],
              ['Trace id', <code>{r.traceId}</code>],
              ['Inputs hash', <code class="hash">{r.inputsHash}</code>],
            ]}
          />
          <h2>Graph</h2>
          {dag.data ? (
            <Graph title={`Steps of run ${runId.slice(0, 8)}`} steps={dag.data.steps.map((s) => ({ id: s.id }))} edges={dag.data.edges} status={status} link={stepLink} />
          ) : dag.error ? (
            <ErrorBox error={dag.error} what="Could not load the DAG" />
          ) : (
            <Loading what="the graph" />
          )}
          <h2>Timeline</h2>
          <Timeline steps={r.steps ?? []} startedUtc={r.startedUtc} endedUtc={r.endedUtc} />
          <h2>Steps</h2>
          <table class="list steps">
            <THead cols={['Step', 'Status', 'Attempt', 'Duration', 'Error']} />
            <tbody>
              {(r.steps ?? []).map((s) => (
                <tr key={s.stepId} data-step={s.stepId}>
                  <td data-label="Step">
                    <a href={stepLink(s.stepId)}>{s.stepId}</a>
                  </td>
                  <td data-label="Status">
                    <Status status={s.status} />
                  </td>
                  <td data-label="Attempt">{s.attempt}</td>
                  <td data-label="Duration">{fmtDuration(s.durationMs)}</td>
                  <td data-label="Error">{s.errorCode ? <code>{s.errorCode}</code> : '—'} {s.errorMessage ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
