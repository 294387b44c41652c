/**
 * The scheduler on each store behind the ports: the embedded SQLite store and the PostgreSQL
 * store (a real database of the run's throwaway cluster, test/helpers/pg.ts), where every group
 * commit is a network round trip and the turns go on while it is in flight. A pool that completes
 * every step checks, at each dispatch, that the step is already durable as `running`. A fan-out
 * run completes with each step once and its events numbered without a gap; a second scheduler
 * recovers a run left in flight by a first one ("crash") and finishes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { sha256Hex, uuidv7 } from '../../src/core/index.js';
import { dagCanonicalJson, dagHash, pinPlugins, pinsJson, semverKey } from '../../src/dags/index.js';
import { loadPlugins } from '../../src/engine/plugins/plugins.js';
import { PlanCache } from '../../src/engine/scheduler/plans.js';
import { Scheduler } from '../../src/engine/scheduler/scheduler.js';
import { SERVE_DEFAULTS, schedulerLimits } from '../../src/cli/config.js';
import type { StepResult, StepTask } from '../../src/engine/pool/pool-types.js';
import type { RunRow, StorePorts } from '../../src/store/index.js';
import { KINDS, storeOf } from '../store/contract/stores.js';
import { until } from '../helpers/wait.js';

const EMPTY = sha256Hex('{}');
const done = (): StepResult => ({ status: 'completed', outputs: {}, outputsJson: '{}', outputsHash: EMPTY, logs: '' });

/** Completes each step it is handed once `hold` is false; records what was durable at dispatch. */
class CheckingPool {
  seen: string[] = [];
  held: Array<() => void> = [];
  hold = false;
  constructor(private readonly ports: StorePorts) {}
  async run(task: StepTask): Promise<StepResult> {
    const step = (await this.ports.runs.steps(task.runId)).find((s) => s.stepId === task.stepId);
    this.seen.push(`${task.stepId}:${step?.status}:${step?.attempt === task.attempt}`);
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    return done();
  }
  abort(): boolean {
    return false;
  }
}

async function setup(ports: StorePorts, tenant: string, doc: Record<string, unknown>) {
  const registry = loadPlugins([]);
  const version = {
    tenant, dagId: doc.dagId as string, version: '1.0.0', versionKey: semverKey('1.0.0'), hash: dagHash(doc as never), definition: dagCanonicalJson(doc as never),
    signature: null, signedBy: '[]', pluginPins: pinsJson(pinPlugins(doc as never, (ref) => registry.resolveFor(tenant, ref))!), createdMs: Date.now(),
  };
  await ports.transaction((tx) => tx.catalog.insertVersion(version));
  const plans = new PlanCache();
  const make = (pool: CheckingPool) => new Scheduler({
    ports, pool, plugins: registry, logs: { put: async (s) => ({ hash: sha256Hex(s), size: s.length }) }, plans, logger: pino({ level: 'silent' }),
    limits: { ...schedulerLimits(SERVE_DEFAULTS), maxInFlightSteps: 100, maxStepsPerTenant: 100, reservedSteps: 0 },
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

const leaves = Array.from({ length: 6 }, (_, i) => `l${i}`);
const fan = (dagId: string) => ({
  dagId, version: '1.0.0',
  steps: [{ id: 'root', plugin: 'noop' }, ...leaves.map((id) => ({ id, plugin: 'noop' })), { id: 'sink', plugin: 'noop' }],
  edges: [...leaves.map((to) => ({ from: 'root', to })), ...leaves.map((from) => ({ from, to: 'sink' }))],
});

for (const kind of KINDS) {
  test(`${kind}: a fan-out run completes through the ports; each step durable as running before dispatch`, async (ctx) => {
    const ports = await storeOf(ctx, kind);
    if (!ports) return;
    const env = await setup(ports, 'fan', fan('fan'));
    const pool = new CheckingPool(ports);
    const sched = env.make(pool);
    const published: number[] = [];
    sched.events.on('committed', (rows) => published.push(...rows.map((r) => r.seq)));
    const runs = [await env.start(sched), await env.start(sched)];
    for (const r of runs) await until(async () => (await env.status(r.runId)) === 'completed', `run ${r.runId} completed`);
    await sched.drain(1000);
    assert.equal(pool.seen.length, 16);
    assert.ok(pool.seen.every((s) => s.endsWith(':running:true')), pool.seen.join(' '));
    for (const r of runs) {
      const h = await env.history(r.runId);
      assert.equal(h.filter((l) => l.endsWith(':completed')).length, 9, 'each step once, and the run');
      assert.equal(h.at(-1), 'run:completed');
    }
    assert.deepEqual(published, [...published].sort((a, b) => a - b), 'published in seq order');
    assert.equal(new Set(published).size, published.length, 'each event published once');
  });

  test(`${kind}: recovery through the ports: a run left in flight by a crashed scheduler is finished by the next`, async (ctx) => {
    const ports = await storeOf(ctx, kind);
    if (!ports) return;
    const env = await setup(ports, 'rec', { dagId: 'rec', version: '1.0.0', steps: [{ id: 'a', plugin: 'noop', retries: { max: 1, backoffMs: 1 } }, { id: 'b', plugin: 'noop' }], edges: [{ from: 'a', to: 'b' }] });
    const stuck = new CheckingPool(ports);
    stuck.hold = true;
    const first = env.make(stuck);
    const run = await env.start(first);
    await until(() => stuck.seen.length === 1, 'a dispatched');
    // "Crash": the first scheduler is abandoned with a in flight; its step stays held.
    const second = env.make(new CheckingPool(ports));
    assert.equal(await second.recover(), 1);
    await until(async () => (await env.status(run.runId)) === 'completed', 'the recovered run completed');
    await second.drain(1000);
    const attempts = (await ports.runs.attemptsOfRun(run.runId)).filter((a) => a.stepId === 'a');
    assert.deepEqual(attempts.map((a) => [a.attempt, a.status, a.errorCode]), [[1, 'failed', 'ORCHESTRATOR_RESTART'], [2, 'completed', null]]);
    assert.equal((await env.history(run.runId)).at(-1), 'run:completed');
  });
}
