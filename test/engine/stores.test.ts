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
import { KINDS, storeOf } from '../store/contract/stores.js';
import { until } from '../helpers/wait.js';
import { CheckingPool, setup } from './ports-env.js';

const leaves = Array.from({ length: 6 }, (_, i) => `l${i}`);
const fan = (dagId: string) => ({
  dagId, version: '1.0.0',
  steps: [{ id: 'root', plugin: 'echo' }, ...leaves.map((id) => ({ id, plugin: 'echo' })), { id: 'sink', plugin: 'echo' }],
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
    const env = await setup(ports, 'rec', { dagId: 'rec', version: '1.0.0', steps: [{ id: 'a', plugin: 'echo', retries: { max: 1, backoffMs: 1 } }, { id: 'b', plugin: 'echo' }], edges: [{ from: 'a', to: 'b' }] });
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
