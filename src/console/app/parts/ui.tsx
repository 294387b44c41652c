/** Small shared pieces: status as text, errors as the API said them, times, JSON. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ApiFailure } from '../api.js';

/** A run or step status, always as a word (colour is only a second cue). */
export function Status({ status }: { status: string }) {
  return <span class={`status st-${status}`}>{status}</span>;
}

/**
 * A runId as its first 8 characters and its last 6: a UUIDv7 starts with its time, so runs
 * started within the same minute share their first 8 (full id in the tooltip and for screen
 * readers).
 */
export function ShortId({ id }: { id: string }) {
  return (
    <code class="id" title={id} aria-label={id}>
      {id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id}
    </code>
  );
}

export function ErrorBox({ error, what }: { error: Error; what?: string }) {
  const f = error instanceof ApiFailure ? error : undefined;
  return (
    <div class="error" role="alert">
      <strong>{what ? `${what}: ` : ''}</strong>
      {f && f.code !== 'NETWORK' ? <code>{f.code}</code> : null} {error.message}
      {f?.traceId ? <div class="muted small">trace {f.traceId}</div> : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A time in the browser's zone, or in `zone` (an IANA name) with its offset: a schedule's fires in the zone its cron is written in. */
export function fmtTime(iso: string | null | undefined, zone?: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return zone ? d.toLocaleString(undefined, { ...ZONED, timeZone: zone }) : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

const ZONED: Intl.DateTimeFormatOptions = { year: '2-digit', month: 'numeric', day: 'numeric', hour: 'numeric', minute: '2-digit', second: '2-digit', timeZoneName: 'short' };

export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function Time({ iso, zone }: { iso: string | null | undefined; zone?: string }) {
  return iso ? <time dateTime={iso} title={iso}>{fmtTime(iso, zone)}</time> : <span>—</span>;
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre class="json" tabIndex={0} aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** The view's heading; it takes focus when the view opens so screen readers announce it. */
export function Title({ children, sub }: { children: ComponentChildren; sub?: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (document.activeElement === document.body || document.activeElement?.closest('nav')) ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <div class="title">
      <h1 tabIndex={-1} ref={ref}>
        {children}
      </h1>
      {sub ? <div class="sub">{sub}</div> : null}
    </div>
  );
}

/** A definition list from [label, value] pairs. */
export function Facts({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A table head from column names ('' = an actions column, named for screen readers only). */
export function THead({ cols }: { cols: string[] }) {
  return (
    <thead>
      <tr>
        {cols.map((c) => (
          <th scope="col" key={c}>
            {c || <span class="sr-only">Actions</span>}
          </th>
        ))}
      </tr>
    </thead>
  );
}
