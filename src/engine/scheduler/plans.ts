/**
 * What the scheduler needs of a DAG version, computed once per version hash: the compiled plan
 * (`dags/plan.ts`), successor lists by plan index, root steps, which steps' outputs are
 * referenced, the `with` of steps that reference nothing (resolved once, hashed once), the
 * inputs validator, and the run timeout.
 *
 * Run timeout: `metadata.runTimeoutMs` of the DAG (an integer 1…2³¹-1; anything else is
 * ignored), counted from the run's `startedUtc` (acceptance), so time spent queued counts, like
 * Temporal's workflow execution timeout. Without it a run has no overall deadline.
 *
 * @example
 * const info = plans.forRow((await ports.catalog.getVersion(tenant, dagId, version))!);
 * info.plan.order; // ['fetch', 'scan', 'report']
 */
import { canonicalHash } from '../../core/index.js';
import { compileInputsValidator, compilePlan, parsePins, type PinEntry, type Plan } from '../../dags/index.js';
import { Lru } from '../../dags/lru.js';
import type { DagVersionRow } from '../../store/index.js';

export interface PlanInfo {
  readonly plan: Plan;
  /** Successor plan indexes of each step (by plan index). */
  readonly succs: readonly (readonly number[])[];
  /** Plan indexes of the steps without predecessors. */
  readonly roots: readonly number[];
  /** Whether some step references this step's outputs (keep them in memory). */
  readonly referenced: readonly boolean[];
  /** For steps whose `with` holds no `${{ … }}`: the value and its canonical hash. */
  readonly fixedWith: readonly ({ value: Record<string, unknown>; hash: string } | null)[];
  readonly runTimeoutMs: number | null;
  validateInputs(inputs: unknown): void;
}

const MAX_TIMEOUT_MS = 2_147_483_647;

function runTimeoutOf(definition: { metadata?: Record<string, unknown> }): number | null {
  const v = definition.metadata?.runTimeoutMs;
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_TIMEOUT_MS ? v : null;
}

/** Builds a {@link PlanInfo} from a stored DAG version. */
export function planInfo(row: Pick<DagVersionRow, 'hash' | 'definition'>): PlanInfo {
  const definition = JSON.parse(row.definition) as Parameters<typeof compilePlan>[0];
  const plan = compilePlan(definition, row.hash);
  const n = plan.steps.length;
  const succs = plan.steps.map((s) => s.succs.map((id) => plan.byId.get(id)!.index).sort((a, b) => a - b));
  const referenced = new Array<boolean>(n).fill(false);
  for (const s of plan.steps) for (const r of s.refs) referenced[plan.byId.get(r)!.index] = true;
  const fixedWith = plan.steps.map((s) => {
    const text = JSON.stringify(s.with);
    if (text.includes('${{')) return null;
    const value = JSON.parse(text) as Record<string, unknown>;
    return { value, hash: canonicalHash(value) };
  });
  const validate = compileInputsValidator(plan.inputsSchema as Record<string, unknown> | undefined);
  return Object.freeze({
    plan,
    succs,
    roots: plan.steps.filter((s) => s.preds.length === 0).map((s) => s.index),
    referenced,
    fixedWith,
    runTimeoutMs: runTimeoutOf(definition as { metadata?: Record<string, unknown> }),
    validateInputs: validate,
  });
}

/**
 * {@link PlanInfo}s by DAG version hash, and parsed plugin pins by their stored text (LRUs;
 * versions are immutable). Pins are not part of the plan: the same definition published by
 * two tenants has one hash but may pin different plugins.
 */
export class PlanCache {
  private readonly lru: Lru<string, PlanInfo>;
  private readonly pins: Lru<string, ReadonlyMap<string, PinEntry>>;

  constructor(capacity = 256) {
    this.lru = new Lru(capacity);
    this.pins = new Lru(capacity);
  }

  /** The version's plugin pins by step reference; null for a version stored before pinning and not pinned yet. */
  pinsFor(row: Pick<DagVersionRow, 'pluginPins'>): ReadonlyMap<string, PinEntry> | null {
    if (row.pluginPins === null) return null;
    let pins = this.pins.get(row.pluginPins);
    if (!pins) {
      pins = parsePins(row.pluginPins);
      this.pins.set(row.pluginPins, pins);
    }
    return pins;
  }

  forRow(row: Pick<DagVersionRow, 'hash' | 'definition'>): PlanInfo {
    let info = this.lru.get(row.hash);
    if (!info) {
      info = planInfo(row);
      this.lru.set(row.hash, info);
    }
    return info;
  }

  clear(): void {
    this.lru.clear();
    this.pins.clear();
  }
}
