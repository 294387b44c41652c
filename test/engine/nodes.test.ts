/**
 * The engine as one node of several on one PostgreSQL database (docs/SCALE-OUT.md, "Ownership
 * and fencing"; CONTRACT §15): several schedulers in this process, each a node with its own
 * id, on one real database of the run's throwaway cluster. Runs started on any node complete
 * exactly once; a node whose lease runs out (it stopped heartbeating: dead, or paused) has its
 * runs taken over by a live node, which finishes them (the interrupted attempt fails
 * ORCHESTRATOR_RESTART and is retried, as in crash recovery); when the paused node wakes up,
 * its commit for those runs is refused (LeaseLost), it writes nothing and drops them; a node
 * that drains leaves, and another takes what it left at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseLost, type CommitBatch, type StorePorts } from '../../src/store/index.js';
import type { SchedulerNode } from '../../src/engine/index.js';
import { storeOf } from '../store/contract/stores.js';
import { until } from '../helpers/wait.js';
import { CheckingPool, setup } from './ports-env.js';

const chain = (dagId: string, backoffMs = 1) => ({
  dagId, version: '1.0.0',
  steps: [{ id: 'a', plugin: 'echo', retries: { max: 1, backoffMs } }, { id: 'b', plugin: 'echo' }],
  edges: [{ from: 'a', to: 'b' }],
});

/** A node that heartbeats often and whose lease outlives the test. */
const live = (id: string): SchedulerNode => ({ id, leaseMs: 600_000, heartbeatMs: 50 });

/** The store as one node sees it, recording the group commits the store refused. */
function watched(ports: StorePorts): { ports: StorePorts; refused: unknown[] } {
  const refused: unknown[] = [];
  const commitBatch = (b: CommitBatch) => ports.commitBatch(b).catch((e: unknown) => {
    refused.push(e);
    throw e;
  });
  return { ports: new Proxy(ports, { get: (t, k) => (k === 'commitBatch' ? commitBatch : Reflect.get(t, k, t)) }), refused };
}

/**
 * Node A with `n` runs, each with step a dispatched and held in its pool; A heartbeats once when
 * it joins and never again (its lease `leaseMs`), so past that it is dead, or paused.
 */
async function nodeWithHeldRuns(ports: StorePorts, env: Awaited<ReturnType<typeof setup>>, node: SchedulerNode, n: number) {
  const pool = new CheckingPool(ports);
  pool.hold = true;
  const w = watched(ports);
  const sched = env.make(pool, { node }, w.ports);
  await sched.recover();
  const runs = [];
  for (let i = 0; i < n; i++) runs.push(await env.start(sched));
  await until(() => pool.seen.length === n, `A dispatched step a of its ${n} runs`);
  assert.ok(pool.seen.every((s) => s === 'a:running:true'), pool.seen.join(' '));
  return { pool, sched, runs, refused: w.refused };
}

test('postgres: runs started on two nodes complete exactly once; a third live node takes none of them', async (ctx) => {
  const ports = await storeOf(ctx, 'postgres');
  if (!ports) return;
  const env = await setup(ports, 'two', chain('two'));
  const [pa, pb, pc] = [new CheckingPool(ports), new CheckingPool(ports), new CheckingPool(ports)];
  const a = env.make(pa, { node: live('two-a') });
  const b = env.make(pb, { node: live('two-b') });
  const c = env.make(pc, { node: live('two-c') });
  for (const s of [a, b, c]) assert.equal(await s.recover(), 0);
  const runs = [];
  for (let i = 0; i < 4; i++) runs.push(await env.start(a), await env.start(b));
  for (const r of runs) await until(async () => (await env.status(r.runId)) === 'completed', `run ${r.runId} completed`);
  for (const r of runs) {
    const h = await env.history(r.runId);
    assert.deepEqual(h.filter((l) => l.endsWith(':completed')), ['a:completed', 'b:completed', 'run:completed'], 'each step once, and the run');
    assert.deepEqual((await ports.runs.attemptsOfRun(r.runId)).map((x) => [x.stepId, x.attempt, x.status]), [['a', 1, 'completed'], ['b', 1, 'completed']]);
  }
  assert.equal(pa.seen.length + pb.seen.length, 16);
  assert.equal(pc.seen.length, 0, 'the third node ran nothing');
  for (const id of ['two-a', 'two-b', 'two-c']) assert.deepEqual(await ports.leases.held(id), [], `${id} holds no ended run`);
  for (const s of [a, b, c]) await s.drain(1000);
  assert.deepEqual((await ports.leases.nodes()).filter((n) => n.nodeId.startsWith('two-')), [], 'drained nodes left');
});

test('postgres: a node whose lease ran out has its runs taken over and finished by another; when it wakes, its commit is refused and writes nothing', async (ctx) => {
  const ports = await storeOf(ctx, 'postgres');
  if (!ports) return;
  const env = await setup(ports, 'die', chain('die'));
  // Node A's lease runs out 300 ms after it joined (dead, or paused).
  const { pool: pa, sched: a, runs, refused } = await nodeWithHeldRuns(ports, env, { id: 'die-a', leaseMs: 300, heartbeatMs: 3_600_000 }, 3);

  // Node B joins: once A's lease has run out it takes A's runs and finishes them.
  const pb = new CheckingPool(ports);
  const b = env.make(pb, { node: live('die-b') });
  await b.recover();
  for (const r of runs) await until(async () => (await env.status(r.runId)) === 'completed', `run ${r.runId} completed on B`);
  assert.deepEqual((await ports.leases.held('die-a')), [], 'A holds nothing any more');
  const before = new Map<string, string[]>();
  for (const r of runs) {
    const attempts = await ports.runs.attemptsOfRun(r.runId);
    assert.deepEqual(attempts.map((x) => [x.stepId, x.attempt, x.status, x.errorCode]), [['a', 1, 'failed', 'ORCHESTRATOR_RESTART'], ['a', 2, 'completed', null], ['b', 1, 'completed', null]], 'at least once, as in crash recovery');
    before.set(r.runId, await env.history(r.runId));
  }

  // A wakes up: its steps complete; its commit for the runs it lost is refused and it drops them.
  pa.release();
  const refusedRuns = () => new Set(refused.flatMap((e) => (e instanceof LeaseLost ? [...e.runIds] : [])));
  await until(() => refusedRuns().size === runs.length, () => `A's commits refused for its three runs (${refused.map(String).join('; ')})`);
  assert.ok(refused.every((e) => e instanceof LeaseLost), 'refused for lost leases only');
  assert.deepEqual([...refusedRuns()].sort(), runs.map((r) => r.runId).sort());
  await until(() => a.stepsInFlight === 0, 'A dropped the runs');
  for (const r of runs) {
    assert.deepEqual(await env.history(r.runId), before.get(r.runId), 'nothing of A written after the take-over');
    assert.equal((await ports.runs.attemptsOfRun(r.runId)).find((x) => x.stepId === 'a' && x.attempt === 1)?.status, 'failed', 'A\'s completed attempt never written');
  }
  await a.drain(1000);
  await b.drain(1000);
});

test('postgres: a node takes a dead node\'s runs as soon as its lease runs out, not at its own next heartbeat', async (ctx) => {
  const ports = await storeOf(ctx, 'postgres');
  if (!ports) return;
  const env = await setup(ports, 'expiry', chain('expiry'));
  // Node A's lease lasts 3 s after it joined, and it never renews it (dead, or paused).
  const { pool: pa, sched: a, runs } = await nodeWithHeldRuns(ports, env, { id: 'expiry-a', leaseMs: 3000, heartbeatMs: 3_600_000 }, 2);
  const aLease = (await ports.leases.nodes()).find((n) => n.nodeId === 'expiry-a')!;
  // Node B joins while A's lease is valid, and its own next heartbeat is 10 minutes away.
  const pb = new CheckingPool(ports);
  pb.hold = true;
  const b = env.make(pb, { node: { id: 'expiry-b', leaseMs: 1_800_000, heartbeatMs: 600_000 } });
  assert.equal(await b.recover(), 0, 'A is live when B joins: B takes nothing');
  assert.equal(pb.seen.length, 0);
  // B looks again just after A's lease runs out (the database's clock), and takes both runs.
  await until(() => pb.seen.length === 2, 'B took A\'s runs once A\'s lease ran out, long before its own next heartbeat');
  assert.deepEqual((await ports.leases.held('expiry-b')).map((h) => [h.runId, h.epoch]), runs.map((r) => [r.runId, 2]).sort());
  // Never before A's lease ran out: the retried attempt started after it (one clock: this host's).
  for (const r of runs) {
    const retried = (await ports.runs.attemptsOfRun(r.runId)).find((x) => x.stepId === 'a' && x.attempt === 2);
    assert.ok(retried && retried.startedMs >= aLease.leaseUntilMs, `attempt 2 of ${r.runId} started at ${retried?.startedMs}, A's lease ran until ${aLease.leaseUntilMs}`);
  }
  pa.release(); // A's late results: refused (fenced), as in the tests above
  pb.release();
  for (const r of runs) await until(async () => (await env.status(r.runId)) === 'completed', `run ${r.runId} completed on B`);
  await a.drain(1000);
  await b.drain(1000);
});

test('postgres: a paused node learns at its next heartbeat that its runs were taken: it aborts their steps and writes nothing for them', async (ctx) => {
  const ports = await storeOf(ctx, 'postgres');
  if (!ports) return;
  const env = await setup(ports, 'pause', chain('pause'));
  const { pool: pa, sched: a, runs, refused } = await nodeWithHeldRuns(ports, env, { id: 'pause-a', leaseMs: 300, heartbeatMs: 3_600_000 }, 2);
  const pb = new CheckingPool(ports);
  pb.hold = true;
  const b = env.make(pb, { node: live('pause-b') });
  await b.recover();
  await until(() => pb.seen.length === 2, 'B took both runs over and dispatched their step a again');
  assert.deepEqual((await ports.leases.held('pause-b')).map((h) => [h.runId, h.epoch]), runs.map((r) => [r.runId, 2]).sort());

  // A's heartbeat (its pause over): the runs are gone, so their steps are aborted at once.
  await a.heartbeat();
  assert.deepEqual([...pa.aborted].sort(), runs.map((r) => `${r.runId}/a/1`).sort());
  assert.equal(a.stepsInFlight, 0);
  pa.release(); // the aborted tasks' late results are ignored
  pb.release();
  for (const r of runs) await until(async () => (await env.status(r.runId)) === 'completed', `run ${r.runId} completed on B`);
  await a.drain(1000);
  await b.drain(1000);
  assert.deepEqual(refused, [], 'A never even tried to commit for them');
  for (const r of runs) {
    assert.deepEqual((await ports.runs.attemptsOfRun(r.runId)).map((x) => [x.stepId, x.attempt, x.status]), [['a', 1, 'failed'], ['a', 2, 'completed'], ['b', 1, 'completed']]);
  }
});

test('postgres: a node that drains leaves, and another takes the runs it left at once (before its lease would run out)', async (ctx) => {
  const ports = await storeOf(ctx, 'postgres');
  if (!ports) return;
  const env = await setup(ports, 'leave', chain('leave'));
  const pa = new CheckingPool(ports);
  pa.hold = true;
  const a = env.make(pa, { node: live('leave-a') });
  await a.recover();
  const run = await env.start(a);
  await until(() => pa.seen.length === 1, 'A dispatched step a');
  await a.drain(0); // its step still in flight: left in the database as running, its run handed back
  assert.equal((await ports.leases.nodes()).some((n) => n.nodeId === 'leave-a'), false, 'A left');
  const b = env.make(new CheckingPool(ports), { node: live('leave-b') });
  assert.equal(await b.recover(), 1, 'B took the run when it joined; A\'s lease had 10 minutes left');
  await until(async () => (await env.status(run.runId)) === 'completed', 'the run completed on B');
  pa.release();
  await b.drain(1000);
  assert.deepEqual((await ports.runs.attemptsOfRun(run.runId)).map((x) => [x.stepId, x.attempt, x.status, x.errorCode]), [['a', 1, 'failed', 'ORCHESTRATOR_RESTART'], ['a', 2, 'completed', null], ['b', 1, 'completed', null]]);
});

test('postgres: a cancel that reaches a node not running the run: that node takes it over and cancels it; the node that ran it aborts its step at its next heartbeat', async (ctx) => {
  const ports = await storeOf(ctx, 'postgres');
  if (!ports) return;
  // A long back-off: the interrupted attempt's retry stays waiting until the cancel ends it.
  const env = await setup(ports, 'cancel', chain('cancel', 600_000));
  const pa = new CheckingPool(ports);
  pa.hold = true;
  const wa = watched(ports);
  const a = env.make(pa, { node: live('cancel-a') }, wa.ports);
  const b = env.make(new CheckingPool(ports), { node: live('cancel-b') });
  await a.recover();
  await b.recover();
  const [run, other] = [await env.start(a), await env.start(a)];
  await until(() => pa.seen.length === 2, 'A dispatched step a of both runs');

  // The cancel arrives at B, as RunService.cancel does it: hold, then cancel in a transaction.
  await b.hold(run.runId);
  let moved = false;
  const status = await b.transact((fn) => ports.transaction(fn), () => (moved = b.cancel('cancel', run.runId, 'stop', 'alice')), async (tx) => (await tx.runs.get('cancel', run.runId))?.status);
  assert.equal(moved, true);
  assert.equal(status, 'cancelled', 'nothing of it runs on B: cancelled at once');
  await until(() => pa.aborted.length === 1, 'A aborted the step of the run it lost');
  assert.deepEqual(pa.aborted, [`${run.runId}/a/1`]);
  assert.equal(await b.hold(run.runId), undefined);
  assert.deepEqual(await ports.leases.held('cancel-b'), [], 'the ended run is released');

  pa.release(); // A's other run goes on on A; the cancelled one's late result is ignored
  await until(async () => (await env.status(other.runId)) === 'completed', 'A finished its other run');
  await a.drain(1000);
  await b.drain(1000);
  assert.deepEqual(wa.refused, []);
  const h = await env.history(run.runId);
  assert.deepEqual(h, ['run:queued', 'run:running', 'a:queued', 'a:running', 'a:retrying', 'a:cancelled', 'b:cancelled', 'run:cancelled']);
  assert.deepEqual((await ports.runs.attemptsOfRun(run.runId)).map((x) => [x.stepId, x.attempt, x.status, x.errorCode]), [['a', 1, 'failed', 'ORCHESTRATOR_RESTART']], 'the attempt that ran on A: stopped there');
  const row = await ports.runs.get('cancel', run.runId);
  assert.equal(row?.cancelReason, 'stop');
  assert.equal(row?.cancelledBy, 'alice');
});

test('postgres: a run that ends in memory while the batch that touches it is being written keeps its lease until its end is written: one terminal event, nothing refused', async (ctx) => {
  const ports = await storeOf(ctx, 'postgres');
  if (!ports) return;
  const env = await setup(ports, 'midwrite', chain('midwrite'));
  const pa = new CheckingPool(ports);
  pa.hold = true;
  const wa = watched(ports);
  const a = env.make(pa, { node: live('midwrite-a') }, wa.ports);
  await a.recover();
  const run = await env.start(a);
  await until(() => pa.seen.length === 1, 'A dispatched step a');

  // The cancel's transaction takes its batch (the run `cancelling`), and before the batch's rows
  // are written the held step's result arrives and the run ends in memory (`cancelled`), as
  // when a step finishes while the PostgreSQL write is under way. That end is the next batch's.
  const writeLate = (tx: any) => new Proxy(tx, {
    get: (t, k) => (k === 'writeBatch'
      ? async (b: CommitBatch) => {
        pa.release();
        await new Promise((r) => setTimeout(r, 200));
        return t.writeBatch(b);
      }
      : Reflect.get(t, k, t)),
  });
  let moved = false;
  const status = await a.transact((fn) => ports.transaction((tx) => fn(writeLate(tx))), () => (moved = a.cancel('midwrite', run.runId, 'stop', null)), async (tx) => (await tx.runs.get('midwrite', run.runId))?.status);
  assert.equal(moved, true);
  assert.equal(status, 'cancelling', 'the transaction wrote the run as its batch had it, not as memory has it since');
  await until(async () => (await env.status(run.runId)) === 'cancelled', 'the run ended cancelled');
  await a.drain(1000);
  assert.deepEqual(wa.refused, [], 'no commit of the run was fenced out');
  const h = await env.history(run.runId);
  assert.deepEqual(h.filter((l) => l.startsWith('run:') && /completed|failed|cancelled/.test(l)), ['run:cancelled'], h.join(' '));
  assert.deepEqual(await ports.leases.held('midwrite-a'), [], 'the ended run is released');
});
