/**
 * Health: the installation's status and readiness (what a probe sees), and for admins the
 * version, uptime, each check and the queues (queued and running runs) of the token's
 * tenants, refreshed every 5 seconds while the view is open.
 */
import { useEffect } from 'preact/hooks';
import { probeHealth } from '../api.js';
import { isAdmin } from '../claims.js';
import { useApp, useLoad } from '../parts/context.js';
import { ErrorBox, Facts, Loading, Title, THead } from '../parts/ui.js';

interface Check {
  status: string;
  detail?: string;
  latencyMs?: number;
}

interface AdminHealth {
  status: string;
  ready: boolean;
  version: string;
  uptimeSeconds: number;
  lifecycle: string;
  checks: Record<string, Check>;
  queues: { tenant: string; queued: number; running: number }[];
}

function uptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

export function HealthView() {
  const { api, session } = useApp();
  const admin = isAdmin(session.claims);
  const health = useLoad(async (signal) => {
    if (!admin) return probeHealth();
    // 503 (down or not ready) still carries the full view.
    const res = await api.fetch('/admin/health', { signal, headers: { accept: 'application/json' }, also: [503] });
    return (await res.json()) as AdminHealth;
  }, [admin]);
  useEffect(() => {
    const t = setInterval(health.reload, 5000);
    return () => clearInterval(t);
  }, [health.reload]);
  const h = health.data as Partial<AdminHealth> | undefined;
  return (
    <section>
      <Title sub={h ? <span class={`status st-${h.status === 'ok' ? 'completed' : h.status === 'down' ? 'failed' : 'running'}`}>{h.status}</span> : null}>Health</Title>
      {health.error ? <ErrorBox error={health.error} what="Could not read health" /> : null}
      {!h && !health.error ? <Loading what="health" /> : null}
      {h ? (
        <Facts
          rows={[
            ['Status', h.status ?? '—'],
            ['Ready', h.ready ? 'yes' : 'no'],
            ...(admin && h.version
              ? ([
                  ['Version', h.version],
                  ['Uptime', uptime(h.uptimeSeconds ?? 0)],
                  ['Lifecycle', h.lifecycle ?? '—'],
                ] as [string, string][])
              : []),
          ]}
        />
      ) : null}
      {!admin ? <p class="muted">Checks and queues are shown to admins only (scope orchestrator:admin).</p> : null}
      {admin && h?.checks ? (
        <>
          <h2>Checks</h2>
          <table class="list">
            <THead cols={['Check', 'Status', 'Detail', 'Latency']} />
            <tbody>
              {Object.entries(h.checks).map(([name, c]) => (
                <tr key={name}>
                  <td data-label="Check">{name}</td>
                  <td data-label="Status">{c.status}</td>
                  <td data-label="Detail">{c.detail ?? '—'}</td>
                  <td data-label="Latency">{c.latencyMs !== undefined ? `${c.latencyMs} ms` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Queues</h2>
          <table class="list queues">
            <THead cols={['Tenant', 'Queued', 'Running']} />
            <tbody>
              {(h.queues ?? []).map((q) => (
                <tr key={q.tenant}>
                  <td data-label="Tenant">{q.tenant}</td>
                  <td data-label="Queued">{q.queued}</td>
                  <td data-label="Running">{q.running}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
