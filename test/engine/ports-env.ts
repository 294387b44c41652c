/**
 * A scheduler on a store behind the ports, for the engine's store tests (`stores.test.ts`) and
 * its several-node tests (`nodes.test.ts`): a DAG version stored in the catalog, schedulers
 * made over the store with a pool that checks what was durable at each dispatch, a run started
 * as `RunService` starts one, and the run's history read back from the event log.
 *
 * @example
 * const env = await setup(ports, 'fan', fan('fan'));
 * const sched = env.make(new CheckingPool(ports));
 * const row = await env.start(sched);
 */
import assert from 'node:assert/strict';
import pino from 'pino';
import { sha256Hex, uuidv7 } from '../../src/core/index.js';
import { dagCanonicalJson, dagHash, pinPlugins, pinsJson, semverKey } from '../../src/dags/index.js';
import { loadPlugins } from '../../src/engine/plugins/plugins.js';
import { PlanCache } from '../../src/engine/scheduler/plans.js';
import { Scheduler, type SchedulerOptions } from '../../src/engine/scheduler/scheduler.js';
import { SERVE_DEFAULTS, schedulerLimits } from '../../src/cli/config.js';
import type { StepResult, StepTask } from '../../src/engine/pool/pool-types.js';
import type { RunRow, StorePorts } from '../../src/store/index.js';

const EMPTY = sha256Hex('{}');
const done = (): StepResult => ({ status: 'completed', outputs: {}, outputsJson: '{}', outputsHash: EMPTY, logs: '' });

/** Completes each step it is handed once `hold` is false; records what was durable at dispatch. */
export class CheckingPool {
  seen: string[] = [];
  held: Array<() => void> = [];
  aborted: string[] = [];
  hold = false;
  constructor(private readonly ports: StorePorts) {}
  async run(task: StepTask): Promise<StepResult> {
    const step = (await this.ports.runs.steps(task.runId)).find((s) => s.stepId === task.stepId);
    this.seen.push(`${task.stepId}:${step?.status}:${step?.attempt === task.attempt}`);
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    return done();
  }
  abort(taskId: string): boolean {
    this.aborted.push(taskId);
    return false;
  }
  /** Lets every held step complete. */
  release(): void {
    this.hold = false;
    for (const r of this.held.splice(0)) r();
  }
}

export async function setup(ports: StorePorts, tenant: string, doc: Record<string, unknown>) {
  const registry = loadPlugins([]);
  const version = {
    tenant, dagId: doc.dagId as string, version: '1.0.0', versionKey: semverKey('1.0.0'), hash: dagHash(doc as never), definition: dagCanonicalJson(doc as never),
    signature: null, signedBy: '[]', pluginPins: pinsJson(pinPlugins(doc as never, (ref) => registry.resolveFor(tenant, ref))!), createdMs: Date.now(),
  };
  await ports.transaction((tx) => tx.catalog.insertVersion(version));
  const plans = new PlanCache();
  /** A scheduler over `over` (default: the store itself), with `more` options (a node). */
  const make = (pool: CheckingPool, more: Partial<SchedulerOptions> = {}, over: StorePorts = ports) => new Scheduler({
    ports: over, pool, plugins: registry, logs: { put: async (s) => ({ hash: sha256Hex(s), size: s.length }) }, plans, logger: pino({ level: 'silent' }),
    limits: { ...schedulerLimits(SERVE_DEFAULTS), maxInFlightSteps: 100, maxStepsPerTenant: 100, reservedSteps: 0 },
    ...more,
  });
  const start = async (sched: Scheduler): Promise<RunRow> => {
    const now = Date.now();
    const row: RunRow = { runId: uuidv7(now), tenant, dagId: version.dagId, dagVersion: '1.0.0', dagHash: version.hash, runToken: null, traceId: 'a'.repeat(32), status: 'queued', inputs: '{}', inputsHash: EMPTY, outputsHash: null, createdMs: now, startedMs: now, endedMs: null, cancelReason: null };
    const live = sched.newRun(row, plans.forRow(version), plans.pinsFor(version));
    const ev = await ports.transaction((tx) => sched.insertRun(tx, row, live));
    sched.admitted([live], [ev]);
    return row;
  };
  const status = async (runId: string) => (await ports.runs.get(tenant, runId))?.status;
  const history = async (runId: string) => {
    const all = await ports.events.since(tenant, 0, 10_000);
    assert.deepEqual(all.map((e) => e.seq), all.map((_, i) => i + 1), 'the tenant\'s seq from 1 without a gap');
    return (await ports.events.ofRun(tenant, runId)).map((e) => `${e.stepId ?? 'run'}:${e.status}`);
  };
  return { make, start, status, history };
}
