/**
 * One step of a run: status, attempts (each with its log), outputs, and downloads of the
 * artifacts it names (its logs and any artifact hash in its outputs). The log of the chosen
 * attempt is read from `/artifacts/{logsRef}` and rendered line by line with its level.
 * Updates live while the step runs.
 */
import { useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { artifactRefs, parseLog } from '../logs.js';
import { useApp, useLive, useLoad } from '../parts/context.js';
import { ErrorBox, Facts, fmtDuration, Json, Loading, ShortId, Status, Time, Title, THead } from '../parts/ui.js';
import { href } from '../router.js';
import type { StepRun } from '../types.js';

const MAX_LINES = 5000;

const EXT: Record<string, string> = { 'application/json': 'json', 'application/x-ndjson': 'ndjson', 'text/plain': 'txt', 'text/markdown': 'md', 'text/html': 'html' };

async function download(api: Api, hash: string): Promise<void> {
  const blob = await api.artifact(hash);
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = `${hash.slice(0, 16)}.${EXT[blob.type.split(';')[0]!.trim()] ?? 'bin'}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function DownloadButton({ hash, label }: { hash: string; label: string }) {
  const { api } = useApp();
  const [error, setError] = useState<Error | null>(null);
  return (
    <>
      <button type="button" class="small" onClick={() => download(api, hash).then(() => setError(null), (e: Error) => setError(e))}>
        {label}
      </button>
      {error ? <ErrorBox error={error} what={`Could not download ${hash.slice(0, 12)}`} /> : null}
    </>
  );
}

function Log({ logsRef }: { logsRef: string }) {
  const { api } = useApp();
  const log = useLoad(async () => parseLog(await (await api.artifact(logsRef)).text()), [logsRef]);
  if (log.error) return <ErrorBox error={log.error} what="Could not read the log" />;
  if (!log.data) return <Loading what="the log" />;
  const lines = log.data.slice(-MAX_LINES);
  return (
    <>
      {log.data.length > MAX_LINES ? <p class="muted">Last {MAX_LINES} of {log.data.length} lines (download the log for all).</p> : null}
      <ol class="log" aria-label="Log lines" tabIndex={0}>
        {lines.map((l, i) => (
          <li key={i} class={`lv-${l.level}`}>
            <span class="ts">{l.ts ? l.ts.slice(11, 23) : ''}</span> <span class="lv">{l.level}</span> <span class="msg">{l.msg}</span>
            {Object.keys(l.fields).length ? <span class="fields"> {JSON.stringify(l.fields)}</span> : null}
          </li>
        ))}
      </ol>
    </>
  );
}

export function StepView({ runId, stepId, attempt }: { runId: string; stepId: string; attempt?: string }) {
  const { api } = useApp();
  const step = useLoad((signal) => api.get<StepRun>(`/runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(stepId)}`, undefined, signal), [runId, stepId]);
  useLive((e) => e.runId === runId && (e.stepId === stepId || e.type !== 'step.updated'), step.reload, [runId, stepId]);
  const s = step.data;
  const chosen = s ? (s.attempts.find((a) => String(a.attempt) === attempt) ?? s.attempts[s.attempts.length - 1]) : undefined;
  return (
    <section>
      <Title>
        Step {stepId} <span class="muted">of run</span> <a href={href('runs', runId)}><ShortId id={runId} /></a>
      </Title>
      {step.error ? <ErrorBox error={step.error} what="Could not load this step" /> : null}
      {!s && !step.error ? <Loading what="the step" /> : null}
      {s ? (
        <>
          <p aria-live="polite">
            Status: <Status status={s.status} />
          </p>
          <Facts
            rows={[
              ['Attempt', String(s.attempt)],
              ['Started', <Time iso={s.startedUtc} />],
              ['Ended', <Time iso={s.endedUtc} />],
              ['Duration', fmtDuration(s.durationMs)],
              ['Error', s.errorCode ? <span><code>{s.errorCode}</code> {s.errorMessage}</span> : '—'],
              ['Inputs hash', <code class="hash">{s.inputsHash ?? '—'}</code>],
            ]}
          />
          <h2>Attempts</h2>
          <table class="list">
            <THead cols={['Attempt', 'Status', 'Started', 'Duration', 'Error', 'Log']} />
            <tbody>
              {s.attempts.map((a) => (
                <tr key={a.attempt}>
                  <td data-label="Attempt">{a.attempt}</td>
                  <td data-label="Status"><Status status={a.status} /></td>
                  <td data-label="Started"><Time iso={a.startedUtc} /></td>
                  <td data-label="Duration">{fmtDuration(a.durationMs)}</td>
                  <td data-label="Error">{a.errorCode ? <code>{a.errorCode}</code> : '—'} {a.errorMessage ?? ''}</td>
                  <td data-label="Log">
                    {a.logsRef ? (
                      <>
                        <a href={href('runs', runId, 'steps', stepId, String(a.attempt))} aria-current={a === chosen ? 'true' : undefined}>
                          Show log
                        </a>{' '}
                        <DownloadButton hash={a.logsRef} label="Download log" />
                      </>
                    ) : (
                      <span class="muted">no log</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Log{chosen ? ` of attempt ${chosen.attempt}` : ''}</h2>
          {chosen?.logsRef ? <Log logsRef={chosen.logsRef} /> : <p class="muted">This attempt wrote no log line.</p>}
          <h2>Outputs</h2>
          {s.outputs ? <Json value={s.outputs} label="Outputs" /> : <p class="muted">No outputs (yet).</p>}
          <h2>Artifacts</h2>
          {(() => {
            const refs = artifactRefs(s.outputs);
            return refs.length ? (
              <ul class="artifacts">
                {refs.map((r) => (
                  <li key={r.hash}>
                    <code>{r.path}</code> <code class="hash">{r.hash.slice(0, 16)}…</code> <DownloadButton hash={r.hash} label={`Download ${r.path}`} />
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">The outputs name no artifact.</p>
            );
          })()}
        </>
      ) : null}
    </section>
  );
}
