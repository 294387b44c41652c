/**
 * Schedules (CONTRACT §11): each schedule's DAG, cron and time zone, next fire and last
 * fire, with Pause / Resume / Trigger now (write scope). A server without schedules answers
 * `GET /schedules` with 404: the view says so plainly. Everything about schedules lives in
 * this file.
 */
import { useState } from 'preact/hooks';
import { ApiFailure, type List } from '../api.js';
import { canWrite } from '../claims.js';
import { useApp, useLive, useLoad } from '../parts/context.js';
import { ErrorBox, Loading, Time, Title, THead } from '../parts/ui.js';
import { href } from '../router.js';

export interface Schedule {
  scheduleId: string;
  dagId: string;
  version?: string;
  cron: string;
  timezone: string;
  paused: boolean;
  description?: string;
  nextFireUtc: string | null;
  lastFire?: { fireUtc?: string; runId?: string; status?: string } | null;
}

function Actions({ s, onDone }: { s: Schedule; onDone(): void }) {
  const { api } = useApp();
  const [error, setError] = useState<Error | null>(null);
  const act = (verb: 'pause' | 'resume' | 'trigger') => () =>
    api.post(`/schedules/${encodeURIComponent(s.scheduleId)}:${verb}`, {}).then(() => (setError(null), onDone()), (e: Error) => setError(e));
  return (
    <>
      {s.paused ? (
        <button type="button" class="small" onClick={act('resume')}>
          Resume
        </button>
      ) : (
        <button type="button" class="small" onClick={act('pause')}>
          Pause
        </button>
      )}{' '}
      <button type="button" class="small" onClick={act('trigger')} aria-label={`Trigger ${s.scheduleId} now`}>
        Trigger now
      </button>
      {error ? <ErrorBox error={error} what={`Could not change ${s.scheduleId}`} /> : null}
    </>
  );
}

export function SchedulesView() {
  const { api, session } = useApp();
  const list = useLoad((signal) => api.get<List<Schedule>>('/schedules', { page_size: 500 }, signal), []);
  useLive((e) => e.type.startsWith('schedule.'), list.reload, []);
  const missing = list.error instanceof ApiFailure && list.error.status === 404;
  return (
    <section>
      <Title>Schedules</Title>
      {missing ? (
        <p class="empty" role="status">
          Schedules are not available on this server.
        </p>
      ) : list.error ? (
        <ErrorBox error={list.error} what="Could not list schedules" />
      ) : null}
      {!list.data && !list.error ? <Loading what="schedules" /> : null}
      {list.data && list.data.items.length === 0 ? <p class="empty">No schedule in this tenant.</p> : null}
      {list.data && list.data.items.length > 0 ? (
        <table class="list">
          <THead cols={['Schedule', 'DAG', 'When', 'Next fire', 'Last fire', 'State', '']} />
          <tbody>
            {list.data.items.map((s) => (
              <tr key={s.scheduleId}>
                <td data-label="Schedule">
                  <code>{s.scheduleId}</code>
                  {s.description ? <div class="muted small">{s.description}</div> : null}
                </td>
                <td data-label="DAG">
                  <a href={href('runs', { dagId: s.dagId })}>{s.dagId}</a> <span class="muted small">{s.version ?? 'newest active'}</span>
                </td>
                <td data-label="When">
                  <code>{s.cron}</code> <span class="muted small">{s.timezone}</span>
                </td>
                <td data-label="Next fire">{s.paused ? <span class="muted">paused</span> : <Time iso={s.nextFireUtc} zone={s.timezone} />}</td>
                <td data-label="Last fire">
                  {s.lastFire?.fireUtc ? <Time iso={s.lastFire.fireUtc} zone={s.timezone} /> : '—'} {s.lastFire?.status ?? ''}
                </td>
                <td data-label="State">{s.paused ? 'paused' : 'active'}</td>
                <td data-label="">{canWrite(session.claims) ? <Actions s={s} onDone={list.reload} /> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
