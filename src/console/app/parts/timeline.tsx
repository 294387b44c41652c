/**
 * The timeline of a run's attempts: one row per step, one bar per attempt from its start to
 * its end (or now, while running), coloured by the attempt's status; each bar's tooltip and
 * label say the status and the duration.
 */
import type { StepRun } from '../types.js';
import { fmtDuration } from './ui.js';

const ROW = 26;
const LABEL = 150;
const WIDTH = 640;

export function Timeline({ steps, startedUtc, endedUtc }: { steps: StepRun[]; startedUtc: string; endedUtc: string | null }) {
  const withAttempts = steps.filter((s) => s.attempts.length > 0);
  if (withAttempts.length === 0) return <p class="muted">No attempt has started yet.</p>;
  const t0 = Date.parse(startedUtc);
  const now = Date.now();
  const ends = withAttempts.flatMap((s) => s.attempts.map((a) => (a.endedUtc ? Date.parse(a.endedUtc) : now)));
  const t1 = Math.max(endedUtc ? Date.parse(endedUtc) : now, ...ends, t0 + 1);
  const scale = (WIDTH - LABEL - 10) / (t1 - t0);
  const height = withAttempts.length * ROW + 20;
  return (
    <div class="timeline" role="group" aria-label="Timeline of attempts">
      <svg width={WIDTH} height={height} viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label={`Timeline: ${fmtDuration(t1 - t0)} from the run's start`}>
        <line x1={LABEL} x2={LABEL} y1="0" y2={height - 16} class="axis" />
        <text x={LABEL} y={height - 3} class="tick">0</text>
        <text x={WIDTH - 10} y={height - 3} class="tick" text-anchor="end">
          {fmtDuration(t1 - t0)}
        </text>
        {withAttempts.map((s, i) => (
          <g key={s.stepId} transform={`translate(0,${i * ROW})`}>
            <text x={LABEL - 8} y="17" class="row-label" text-anchor="end">
              {s.stepId.length > 20 ? `${s.stepId.slice(0, 19)}…` : s.stepId}
            </text>
            {s.attempts.map((a) => {
              const start = Date.parse(a.startedUtc);
              const end = a.endedUtc ? Date.parse(a.endedUtc) : now;
              const x = LABEL + (start - t0) * scale;
              const w = Math.max(3, (end - start) * scale);
              return (
                <rect key={a.attempt} x={x} y="5" width={w} height={ROW - 10} rx="3" class={`bar st-${a.status}`}>
                  <title>{`${s.stepId} attempt ${a.attempt}: ${a.status}, ${fmtDuration(a.durationMs ?? end - start)}`}</title>
                </rect>
              );
            })}
          </g>
        ))}
      </svg>
    </div>
  );
}
