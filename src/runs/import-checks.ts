/**
 * What an imported run record must prove before it is stored (docs/RUNS.md, "Importing
 * runs"): it belongs to the tenant the import is for; it ran a DAG version stored in that
 * tenant with the same hash; it has ended; its steps are exactly that version's steps, in
 * plan order, each ended; and every hash the contract defines is recomputed from the record's
 * own data and must match: run `inputsHash` (canonical inputs), each step's `inputsHash` (its
 * `with` resolved against the inputs and the outputs of the steps before it), each step's and
 * attempt's `outputsHash` (canonical outputs), run `outputsHash` (`{stepId: outputsHash}`).
 *
 * @example
 * await checkImportedRun(tx.catalog, new PlanCache(), 'demo', record, 0); // throws ApiError VALIDATION_FAILED naming the record
 */
import { ApiError, canonicalHash, canonicalJson, sha256Hex } from '../core/index.js';
import { resolveWith, StepReferenceError, type Plan } from '../dags/index.js';
import type { PlanCache } from '../engine/index.js';
import type { CatalogPort } from '../store/index.js';
import { isRunTerminal, isStepTerminal, runOutputsHash } from './states.js';
import type { RunView, StepView } from './views.js';

function refused(index: number, message: string, extra: Record<string, unknown> = {}): ApiError {
  return new ApiError('VALIDATION_FAILED', `record ${index + 1}: ${message}; nothing was imported`, { record: index + 1, ...extra });
}

/** The outputs of a record's step as the engine would see them when resolving references. */
function outputsOf(steps: readonly StepView[]): (id: string) => object | undefined {
  const byId = new Map(steps.map((s) => [s.stepId, s]));
  return (id) => {
    const s = byId.get(id);
    return s && s.status === 'completed' && s.outputs !== null ? s.outputs : undefined;
  };
}

function checkStep(s: StepView, planStep: Plan['steps'][number], inputs: unknown, outputs: (id: string) => object | undefined, index: number): void {
  const where = `step ${s.stepId}`;
  if (!isStepTerminal(s.status)) throw refused(index, `${where} has not ended (${s.status})`);
  if ((s.outputs === null) !== (s.outputsHash === null)) throw refused(index, `${where}: outputs and outputsHash must both be set or both null`);
  if (s.outputs !== null && (typeof s.outputs !== 'object' || Array.isArray(s.outputs) || canonicalHash(s.outputs) !== s.outputsHash)) {
    throw refused(index, `${where}: outputsHash does not match its outputs`, { stepId: s.stepId, field: 'outputsHash' });
  }
  if (s.status === 'completed') {
    const last = Array.isArray(s.attempts) ? s.attempts.find((a) => a.attempt === s.attempt) : undefined;
    if (s.outputs === null || !last || last.status !== 'completed' || last.outputsHash !== s.outputsHash) {
      throw refused(index, `${where} is completed without matching outputs and a completed last attempt`, { stepId: s.stepId });
    }
  }
  if (s.inputsHash !== null) {
    let hash: string | null;
    try {
      hash = canonicalHash(resolveWith(planStep.with, { inputs, outputs, notCompleted: 'null' }));
    } catch (e) {
      if (!(e instanceof StepReferenceError)) throw e;
      hash = null;
    }
    if (hash !== s.inputsHash) {
      throw refused(index, `${where}: inputsHash is not the hash of its with resolved from the run's inputs and outputs`, { stepId: s.stepId, field: 'inputsHash' });
    }
  }
}

/** Throws `VALIDATION_FAILED` (naming the record and the field) unless the record proves itself. */
export async function checkImportedRun(catalog: CatalogPort, plans: PlanCache, tenant: string, rec: RunView & { inputs?: unknown }, index: number): Promise<void> {
  if (rec.tenant !== tenant) {
    throw refused(index, `the run belongs to tenant ${JSON.stringify(rec.tenant)}, not ${JSON.stringify(tenant)} (import runs --tenant)`, { field: 'tenant' });
  }
  if (!isRunTerminal(rec.status)) throw refused(index, `run ${rec.runId} has not ended (${rec.status}); only ended runs are imported`, { field: 'status' });
  const inputs = rec.inputs ?? {};
  if (sha256Hex(canonicalJson(inputs)) !== rec.inputsHash) {
    throw refused(index, 'inputsHash is not the hash of the run\'s inputs', { field: 'inputsHash' });
  }
  const version = await catalog.getVersion(tenant, rec.dagId, rec.dagVersion);
  if (!version || version.hash !== rec.dagHash) {
    throw refused(
      index,
      `DAG ${rec.dagId}@${rec.dagVersion} with hash ${rec.dagHash} is not stored in tenant ${tenant}: publish that version first`,
      { field: 'dagHash' },
    );
  }
  const { plan } = plans.forRow(version);
  const steps = rec.steps ?? [];
  if (steps.length !== plan.order.length || steps.some((s, i) => s.stepId !== plan.order[i])) {
    throw refused(index, `the steps are not those of ${rec.dagId}@${rec.dagVersion} in plan order`, { field: 'steps' });
  }
  const outputs = outputsOf(steps);
  steps.forEach((s, i) => checkStep(s, plan.steps[i]!, inputs, outputs, index));
  if (rec.status === 'completed' && steps.some((s) => s.status !== 'completed' && s.status !== 'skipped')) {
    throw refused(index, 'a completed run has a step that neither completed nor was skipped', { field: 'status' });
  }
  if (rec.outputsHash !== runOutputsHash(steps)) {
    throw refused(index, 'outputsHash is not the hash of its completed steps\' outputsHash', { field: 'outputsHash' });
  }
}
