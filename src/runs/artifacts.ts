/**
 * The artifacts a run references, for `GET /runs/{runId}/artifacts`: every attempt's log
 * (`logsRef`) and every output value of a step that is the hash of an artifact the tenant owns
 * (`stdoutHash` of exec, `hash` of artifact, a plugin's own `reportHash`…). An artifact a plugin
 * wrote but did not name in its outputs is not the run's to list (nothing records it).
 *
 * Order (total, stable): steps in the run's topological order, then attempt ascending, then the
 * field (`logsRef` first, then output paths in code-point order). `key` is that order as one
 * string, so a page token can resume after the last item (keyset, never an offset).
 *
 * @example
 * const items = await runArtifacts(run, (h) => ports.artifacts.owns(tenant, h));
 * // [{ stepId: 'build', attempt: 1, kind: 'log', field: 'logsRef', hash, size, mediaType, key }, …]
 */
import { HASH_RE } from '../core/index.js';
import type { RunView } from './views.js';

export interface RunArtifact {
  stepId: string;
  attempt: number;
  /** `log`: an attempt's NDJSON log; `output`: named by the step's outputs. */
  kind: 'log' | 'output';
  /** `logsRef`, or the output's path: `outputs.stdoutHash`, `outputs.files.0`. */
  field: string;
  hash: string;
  size: number;
  mediaType: string;
}

/** Output paths whose value is a hash (`<hex>` or `sha256:<hex>`), in code-point order of the path. */
function hashesIn(value: unknown, path: string, out: Array<[string, string]>, depth = 0): void {
  if (depth > 64) return;
  if (typeof value === 'string') {
    const hex = value.startsWith('sha256:') ? value.slice(7) : value;
    if (HASH_RE.test(hex)) out.push([path, hex]);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => hashesIn(v, `${path}.${i}`, out, depth + 1));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) hashesIn(v, `${path}.${k}`, out, depth + 1);
  }
}

const pad = (n: number) => String(n).padStart(6, '0');

/** Every artifact the run references that `owns` confirms, with its sort key. */
export async function runArtifacts(
  run: RunView,
  owns: (hash: string) => Promise<{ size: number; mediaType: string } | undefined>,
): Promise<Array<RunArtifact & { key: string }>> {
  const named: Array<Omit<RunArtifact, 'size' | 'mediaType'> & { key: string }> = [];
  const add = (i: number, a: Omit<RunArtifact, 'size' | 'mediaType'>) => {
    const rank = a.kind === 'log' ? '0' : '1';
    named.push({ ...a, key: `${pad(i)}/${pad(a.attempt)}/${rank}/${a.field}` });
  };
  (run.steps ?? []).forEach((s, i) => {
    for (const att of s.attempts) {
      if (att.logsRef) add(i, { stepId: s.stepId, attempt: att.attempt, kind: 'log', field: 'logsRef', hash: att.logsRef });
    }
    if (s.outputs) {
      const found: Array<[string, string]> = [];
      hashesIn(s.outputs, 'outputs', found);
      for (const [field, hash] of found) add(i, { stepId: s.stepId, attempt: s.attempt, kind: 'output', field, hash });
    }
  });
  const found = await Promise.all(named.map((a) => owns(a.hash)));
  const items: Array<RunArtifact & { key: string }> = [];
  named.forEach((a, i) => {
    const f = found[i];
    if (f) items.push({ ...a, size: f.size, mediaType: f.mediaType });
  });
  return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
