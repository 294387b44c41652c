/**
 * Graph-level validation of a schema-valid DAG document (CONTRACT §5). Every problem found is
 * listed in one `ApiError('DAG_INVALID')` (422) with `details.errors`.
 */
import { ApiError } from '../core/errors.js';
import { canonicalJson } from '../core/hash.js';
import { ancestorSets, findCycles, topoOrder, type Graph } from './graph.js';
import { compileSchema } from './inputs.js';
import { TRIGGERS, type DagDocument } from './model.js';
import { collectRefs } from './refs.js';
import { execEnvProblems } from './exec-env.js';
import { withProblems, type SchemaOf } from './with-check.js';

/** Size limits of CONTRACT §2; each is answered with `DAG_INVALID`. */
export interface DagLimits {
  /** Default 10,000. */
  maxSteps: number;
  /** Default 50,000. */
  maxEdges: number;
  /** UTF-8 bytes of the canonical JSON of `metadata`. Default 65,536. */
  maxMetadataBytes: number;
}

export const DEFAULT_DAG_LIMITS: Readonly<DagLimits> = Object.freeze({
  maxSteps: 10_000,
  maxEdges: 50_000,
  maxMetadataBytes: 65_536,
});

export interface ValidateOptions {
  /** Whether a plugin `"name"` or `"name@version"` is installed. */
  pluginExists(nameOrNameAtVersion: string): boolean;
  /** A plugin's `inputsSchema`: each step's fixed `with` values are checked against it (`with-check.ts`). */
  inputsSchemaOf?: SchemaOf;
  limits?: Partial<DagLimits>;
}

/** One problem in `details.errors` of a `DAG_INVALID` error. */
export interface DagProblem {
  code:
    | 'TOO_MANY_STEPS'
    | 'TOO_MANY_EDGES'
    | 'METADATA_TOO_LARGE'
    | 'DUPLICATE_STEP_ID'
    | 'UNKNOWN_EDGE_STEP'
    | 'SELF_EDGE'
    | 'DUPLICATE_EDGE'
    | 'CYCLE'
    | 'UNKNOWN_PLUGIN'
    | 'INVALID_TRIGGER'
    | 'BAD_REFERENCE'
    | 'UNKNOWN_REFERENCE_ROOT'
    | 'REFERENCE_UNKNOWN_STEP'
    | 'REFERENCE_NOT_ANCESTOR'
    | 'INPUTS_SCHEMA_INVALID'
    | 'EXEC_ENV_REFUSED'
    | 'WITH_INVALID';
  message: string;
  stepId?: string;
  [extra: string]: unknown;
}

/** At most this many problems are listed; `details.errorCount` is the full count. */
export const MAX_REPORTED_ERRORS = 100;
const MAX_REPORTED_CYCLES = 10;

/**
 * Checks a schema-valid document (see `parseDag`) and throws `ApiError('DAG_INVALID', …,
 * { errors, errorCount })` listing every problem: limits, duplicate step ids, edges naming
 * unknown steps, self-edges, duplicate edges, cycles, unknown plugins, triggers, references
 * (`${{ steps.X.outputs… }}` must name an ancestor of the step), an `inputsSchema` that is
 * not a valid JSON Schema, and (with `inputsSchemaOf`) each step's fixed `with` values against
 * its plugin's `inputsSchema` (`WITH_INVALID`, naming `steps.<id>.with.<field>`). When limits are exceeded nothing else is checked. Returns normally
 * when the DAG is valid.
 *
 * @example
 * validateDag(doc, { pluginExists: (p) => ['noop', 'echo'].includes(p) });
 */
export function validateDag(doc: DagDocument, opts: ValidateOptions): void {
  const problems = findDagProblems(doc, opts);
  if (problems.length === 0) return;
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  throw new ApiError('DAG_INVALID', `${first.message}${more}`, {
    errors: problems.slice(0, MAX_REPORTED_ERRORS),
    errorCount: problems.length,
  });
}

/**
 * The problems {@link validateDag} would report, without throwing.
 *
 * @example
 * findDagProblems(doc, { pluginExists: () => true }).map((p) => p.code) // ['CYCLE']
 */
export function findDagProblems(doc: DagDocument, opts: ValidateOptions): DagProblem[] {
  const limits = { ...DEFAULT_DAG_LIMITS, ...opts.limits };
  const problems: DagProblem[] = [];
  const add = (code: DagProblem['code'], message: string, extra: Omit<DagProblem, 'code' | 'message'> = {}) =>
    problems.push({ code, message, ...extra });
  const edges = doc.edges ?? [];

  const { maxSteps, maxEdges, maxMetadataBytes } = limits;
  if (doc.steps.length > maxSteps) {
    add('TOO_MANY_STEPS', `more than ${maxSteps} steps`, { count: doc.steps.length, limit: maxSteps });
  }
  if (edges.length > maxEdges) {
    add('TOO_MANY_EDGES', `more than ${maxEdges} edges`, { count: edges.length, limit: maxEdges });
  }
  if (doc.metadata !== undefined) {
    const bytes = Buffer.byteLength(canonicalJson(doc.metadata), 'utf8');
    if (bytes > maxMetadataBytes) {
      add('METADATA_TOO_LARGE', `metadata is larger than ${maxMetadataBytes} bytes`, { bytes, limit: maxMetadataBytes });
    }
  }
  if (problems.length) return problems;

  // Steps: unique ids, plugins, triggers.
  const index = new Map<string, number>();
  const ids: string[] = [];
  const pluginOk = new Map<string, boolean>();
  doc.steps.forEach((step, i) => {
    const stepId = step.id;
    if (index.has(stepId)) add('DUPLICATE_STEP_ID', `duplicate step id "${stepId}"`, { stepId, index: i });
    else {
      index.set(stepId, ids.length);
      ids.push(stepId);
    }
    let ok = pluginOk.get(step.plugin);
    if (ok === undefined) pluginOk.set(step.plugin, (ok = opts.pluginExists(step.plugin)));
    if (!ok) {
      add('UNKNOWN_PLUGIN', `step "${stepId}": unknown plugin "${step.plugin}"`, { stepId, plugin: step.plugin });
    }
    if (step.trigger !== undefined && !(TRIGGERS as readonly string[]).includes(step.trigger)) {
      add('INVALID_TRIGGER', `step "${stepId}": unknown trigger "${String(step.trigger)}"`, { stepId });
    }
  });

  // Edges: known steps, no self-edges, no duplicates.
  const g: Graph = { ids, preds: ids.map(() => []), succs: ids.map(() => []) };
  const seen = new Set<string>();
  edges.forEach((e, i) => {
    const from = index.get(e.from);
    const to = index.get(e.to);
    const edge = `edge ${e.from} → ${e.to}`;
    const where = { from: e.from, to: e.to, index: i };
    if (from === undefined || to === undefined) {
      const missing = from === undefined ? e.from : e.to;
      add('UNKNOWN_EDGE_STEP', `${edge} names unknown step "${missing}"`, { stepId: missing, ...where });
    } else if (from === to) {
      add('SELF_EDGE', `${edge} is a self-edge`, { stepId: e.from, ...where });
    } else if (seen.has(`${from},${to}`)) {
      add('DUPLICATE_EDGE', `duplicate ${edge}`, where);
    } else {
      seen.add(`${from},${to}`);
      g.succs[from]!.push(to);
      g.preds[to]!.push(from);
    }
  });

  // Cycles.
  const order = topoOrder(g, false);
  const acyclic = order.length === ids.length;
  if (!acyclic) {
    for (const cycle of findCycles(g, order, MAX_REPORTED_CYCLES)) {
      add('CYCLE', `cycle: ${[...cycle, cycle[0]].join(' → ')}`, { stepId: cycle[0], steps: cycle });
    }
  }

  checkReferences(doc, g, index, acyclic ? order : null, add);

  if (doc.inputsSchema !== undefined) {
    try {
      compileSchema(doc.inputsSchema);
    } catch (err) {
      add('INPUTS_SCHEMA_INVALID', `inputsSchema is not a valid JSON Schema: ${(err as Error).message}`);
    }
  }
  problems.push(...execEnvProblems(doc));
  if (opts.inputsSchemaOf) problems.push(...withProblems(doc, opts.inputsSchemaOf));
  return problems;
}

type Add = (code: DagProblem['code'], message: string, extra?: Omit<DagProblem, 'code' | 'message'>) => void;

/**
 * Reference checks. Ancestry is only checked when the graph is acyclic (a cycle is already
 * reported and makes "ancestor" meaningless).
 */
function checkReferences(
  doc: DagDocument,
  g: Graph,
  index: Map<string, number>,
  order: number[] | null,
  add: Add,
): void {
  const pending: Array<{ step: number; stepId: string; target: number; expression: string; field: string }> = [];
  const seenStep = new Set<string>();
  for (const step of doc.steps) {
    const stepId = step.id;
    if (seenStep.has(stepId)) continue; // a duplicate id is reported already
    seenStep.add(stepId);
    if (step.with === undefined) continue;
    const { refs, problems: bad } = collectRefs(step.with);
    for (const { code, field, message, expression } of bad) {
      add(code, `step "${stepId}" ${field}: ${message}: ${expression}`, { stepId, field, expression });
    }
    for (const r of refs) {
      if (r.root !== 'steps') continue;
      const target = index.get(r.stepId);
      const where = { stepId, field: r.field, expression: r.text };
      if (target === undefined) {
        const msg = `step "${stepId}" ${r.field}: ${r.text} names unknown step "${r.stepId}"`;
        add('REFERENCE_UNKNOWN_STEP', msg, { ...where, ref: r.stepId });
      } else {
        pending.push({ step: index.get(stepId)!, target, ...where });
      }
    }
  }
  if (!order || pending.length === 0) return;
  const targets = [...new Set(pending.map((p) => p.target))];
  const pos = new Map(targets.map((t, i) => [t, i]));
  const anc = ancestorSets(g, order, targets);
  for (const { step, target, stepId, field, expression } of pending) {
    if (anc.has(step, pos.get(target)!)) continue;
    const ref = g.ids[target]!;
    const msg = `step "${stepId}" ${field}: ${expression} names "${ref}", which is not an ancestor of "${stepId}"`;
    add('REFERENCE_NOT_ANCESTOR', msg, { stepId, field, expression, ref });
  }
}
