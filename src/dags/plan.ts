/**
 * The compiled, immutable form of a DAG version that the scheduler runs: a deterministic
 * topological order (ties by step id, byte order) and per-step settings with defaults filled.
 */
import { ApiError } from '../core/errors.js';
import { dagHash } from './canonical.js';
import { topoOrder, type Graph } from './graph.js';
import type { DagContent, DagDocument, Trigger } from './model.js';
import { collectRefs } from './refs.js';
import { RETRY_DEFAULTS } from './resolve.js';

export interface PlanRetries {
  readonly max: number;
  readonly backoffMs: number;
  readonly factor: number;
  readonly maxBackoffMs: number;
}

export interface PlanStep {
  readonly id: string;
  /** Position in {@link Plan.order}. */
  readonly index: number;
  readonly plugin: string;
  /** The step's `with` as defined (`{}` when absent), references unresolved; deep-frozen. */
  readonly with: Readonly<Record<string, unknown>>;
  readonly retries: PlanRetries;
  /** `null`: the server's default step timeout applies. */
  readonly timeoutMs: number | null;
  readonly trigger: Trigger;
  /** Direct predecessors / successors, sorted by step id. */
  readonly preds: readonly string[];
  readonly succs: readonly string[];
  /** Step ids referenced by `${{ steps.X.outputs… }}` in `with`, sorted, unique. */
  readonly refs: readonly string[];
}

export interface Plan {
  readonly dagId: string;
  readonly version: string;
  readonly hash: string;
  /** Topological order; among steps ready at the same time, smaller step id first. */
  readonly order: readonly string[];
  /** Steps in `order`. */
  readonly steps: readonly PlanStep[];
  readonly byId: ReadonlyMap<string, PlanStep>;
  readonly inputsSchema?: Readonly<Record<string, unknown>>;
}

function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
      Object.freeze(v);
      for (const child of Object.values(v)) stack.push(child);
    }
  }
  return value;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Compiles a (validated) DAG into a {@link Plan} in O((V+E) log V). Duplicate edges are
 * merged. Throws `ApiError('DAG_INVALID')` for a document `validateDag` would refuse in its
 * structure (duplicate step ids, edges to unknown steps, cycles).
 *
 * @example
 * compilePlan(doc).order // ['fetch', 'scan-a', 'scan-b', 'report']
 */
export function compilePlan(doc: DagDocument | DagContent, hash: string = dagHash(doc)): Plan {
  const ids: string[] = [];
  const index = new Map<string, number>();
  for (const s of doc.steps) {
    if (index.has(s.id)) throw new ApiError('DAG_INVALID', `duplicate step id "${s.id}"`);
    index.set(s.id, ids.length);
    ids.push(s.id);
  }
  const g: Graph = { ids, preds: ids.map(() => []), succs: ids.map(() => []) };
  const seen = new Set<string>();
  for (const e of doc.edges ?? []) {
    const from = index.get(e.from);
    const to = index.get(e.to);
    if (from === undefined || to === undefined) {
      throw new ApiError('DAG_INVALID', `edge ${e.from} → ${e.to} names an unknown step`);
    }
    const key = `${from},${to}`;
    if (seen.has(key)) continue;
    seen.add(key);
    g.succs[from]!.push(to);
    g.preds[to]!.push(from);
  }
  const order = topoOrder(g, true);
  if (order.length !== ids.length) throw new ApiError('DAG_INVALID', 'the DAG has a cycle');

  const steps: PlanStep[] = order.map((v, i) => {
    const s = doc.steps[v]!;
    const stepRefs = collectRefs(s.with).refs.flatMap((r) => (r.root === 'steps' ? [r.stepId] : []));
    const refs = [...new Set(stepRefs)];
    return Object.freeze({
      id: s.id,
      index: i,
      plugin: s.plugin,
      with: deepFreeze(structuredClone(s.with ?? {})),
      retries: Object.freeze({ ...RETRY_DEFAULTS, ...s.retries }),
      timeoutMs: s.timeoutMs ?? null,
      trigger: s.trigger ?? 'all_success',
      preds: Object.freeze(g.preds[v]!.map((p) => ids[p]!).sort(byString)),
      succs: Object.freeze(g.succs[v]!.map((p) => ids[p]!).sort(byString)),
      refs: Object.freeze(refs.sort(byString)),
    });
  });
  return Object.freeze({
    dagId: doc.dagId,
    version: doc.version,
    hash,
    order: Object.freeze(steps.map((s) => s.id)),
    steps: Object.freeze(steps),
    byId: new Map(steps.map((s) => [s.id, s])),
    ...(doc.inputsSchema === undefined ? {} : { inputsSchema: deepFreeze(structuredClone(doc.inputsSchema)) }),
  });
}
