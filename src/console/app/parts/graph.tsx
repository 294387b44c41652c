/**
 * The DAG drawing (SVG, layered left to right by src/console/app/layout.ts). In a run, each
 * step is a link to its detail, coloured by its state and labelled with the state as text.
 */
import { useMemo } from 'preact/hooks';
import { layoutDag } from '../layout.js';
import type { DagEdge } from '../types.js';

/** Above this many steps the drawing is left out (the step table still lists them). */
export const MAX_DRAWN_STEPS = 1000;

export interface GraphProps {
  steps: { id: string; label?: string }[];
  edges: DagEdge[];
  /** Step status by id (run view); absent = the DAG's own drawing. */
  status?: Record<string, string>;
  /** Link of a step (run view). */
  link?: (stepId: string) => string;
  title: string;
}

const PAD = 8;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function Graph({ steps, edges, status, link, title }: GraphProps) {
  const ids = useMemo(() => steps.map((s) => s.id), [steps]);
  const layout = useMemo(() => layoutDag(ids, edges), [ids, edges]);
  if (steps.length > MAX_DRAWN_STEPS) {
    return <p class="muted">{steps.length} steps: too many to draw; see the table below.</p>;
  }
  const { nodeWidth: w, nodeHeight: h } = layout.options;
  return (
    <div class="graph" role="group" aria-label={title}>
      <svg width={layout.width + 2 * PAD} height={layout.height + 2 * PAD} viewBox={`${-PAD} ${-PAD} ${layout.width + 2 * PAD} ${layout.height + 2 * PAD}`} role="img" aria-label={`${title}: ${steps.length} steps, ${edges.length} edges`}>
        <defs>
          <marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L8,4 L0,8 z" class="arrowhead" />
          </marker>
        </defs>
        {layout.edges.map((e) => (
          <path key={`${e.from}>${e.to}`} d={e.d} class="edge" marker-end="url(#arrow)" />
        ))}
        {steps.map((s) => {
          const n = layout.nodes.get(s.id)!;
          const st = status?.[s.id];
          const body = (
            <g class={`node${st ? ` st-${st}` : ''}`} transform={`translate(${n.x},${n.y})`}>
              <rect width={w} height={h} rx="6" />
              <text x="10" y={st || s.label ? 18 : h / 2 + 5} class="node-id">
                {clip(s.id, 22)}
              </text>
              {st || s.label ? (
                <text x="10" y="35" class="node-sub">
                  {clip(st ?? s.label ?? '', 24)}
                </text>
              ) : null}
              <title>{st ? `${s.id}: ${st}` : s.label ? `${s.id} (${s.label})` : s.id}</title>
            </g>
          );
          return link ? (
            <a key={s.id} href={link(s.id)} aria-label={`step ${s.id}: ${st ?? 'unknown'}`} class="node-link">
              {body}
            </a>
          ) : (
            <g key={s.id}>{body}</g>
          );
        })}
      </svg>
    </div>
  );
}
