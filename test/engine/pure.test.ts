/**
 * The scheduler's pure parts: state machines (only forward), trigger rules, round-robin
 * queues, the timer heap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  RUN_STATUSES, STEP_STATUSES, assertRunMove, assertStepMove, canMoveRun, canMoveStep, isRunTerminal, isStepTerminal,
  runSuccessors, stepSuccessors, IllegalTransitionError, runOutputsHash, type RunStatus, type StepStatus,
} from '../../src/engine/scheduler/states.js';
import { decide } from '../../src/engine/scheduler/triggers.js';
import { TenantRing } from '../../src/engine/scheduler/queues.js';
import { TimerHeap } from '../../src/engine/scheduler/timers.js';
import { PlanCache } from '../../src/engine/scheduler/plans.js';
import { dagCanonicalJson, dagHash } from '../../src/dags/index.js';
import { ACTIVE_RUN_STATUSES, ENDED_RUN_STATUSES } from '../../src/store/index.js';
import { canonicalHash } from '../../src/core/index.js';

const RUN_RANK: Record<RunStatus, number> = { queued: 0, running: 1, cancelling: 2, completed: 3, failed: 3, cancelled: 3 };
// The retry loop (retrying → queued) is the only way back, and only to run another attempt.
const STEP_RANK: Record<StepStatus, number> = { pending: 0, queued: 1, retrying: 1, running: 2, completed: 3, failed: 3, skipped: 3, cancelled: 3 };

test('run transitions only move forward; terminal statuses are final', () => {
  for (const from of RUN_STATUSES) {
    for (const to of runSuccessors(from)) assert.ok(RUN_RANK[to] > RUN_RANK[from], `${from} → ${to}`);
    if (isRunTerminal(from)) assert.deepEqual(runSuccessors(from), []);
  }
  assert.ok(canMoveRun('queued', 'running') && canMoveRun('running', 'cancelling') && canMoveRun('cancelling', 'cancelled'));
  assert.throws(() => assertRunMove('completed', 'running'), IllegalTransitionError);
  assert.throws(() => assertRunMove('cancelling', 'completed'), IllegalTransitionError);
});

test('the store\'s in-flight run statuses are the machine\'s non-terminal ones (recovery, schedule overlap, queue depth)', () => {
  assert.deepEqual([...ACTIVE_RUN_STATUSES], RUN_STATUSES.filter((s) => !isRunTerminal(s)));
  assert.deepEqual([...ENDED_RUN_STATUSES], RUN_STATUSES.filter((s) => isRunTerminal(s)), 'ended statuses (retention, store copy) are the terminal ones');
});

test('step transitions move forward except the retry loop; nothing returns to pending', () => {
  for (const from of STEP_STATUSES) {
    for (const to of stepSuccessors(from)) {
      assert.notEqual(to, 'pending');
      const loop = from === 'retrying' && to === 'queued';
      assert.ok(loop || STEP_RANK[to] > STEP_RANK[from] || (from === 'running' && to === 'retrying'), `${from} → ${to}`);
    }
    if (isStepTerminal(from)) assert.deepEqual(stepSuccessors(from), []);
  }
  assert.throws(() => assertStepMove('completed', 'queued'), IllegalTransitionError);
  assert.throws(() => assertStepMove('pending', 'running'), IllegalTransitionError);
});

test('property: any walk the machine accepts ends in at most one terminal status and never revisits one', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...STEP_STATUSES), { maxLength: 40 }), (wanted) => {
      let s: StepStatus = 'pending';
      let terminal = 0;
      for (const to of wanted) {
        if (!canMoveStep(s, to)) continue;
        s = to;
        if (isStepTerminal(s)) terminal++;
      }
      return terminal <= 1;
    }),
  );
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...RUN_STATUSES), { maxLength: 20 }), (wanted) => {
      let s: RunStatus = 'queued';
      for (const to of wanted) {
        if (!canMoveRun(s, to)) continue;
        if (RUN_RANK[to] <= RUN_RANK[s]) return false;
        s = to;
      }
      return true;
    }),
  );
});

test('property: a run\'s outputsHash is the hash of the RFC 8785 object {stepId: outputsHash} of its completed steps', () => {
  // Mostly characters JSON escapes or sorts unusually (digits: integer-like keys come first in
  // an object), and now and then a surrogate, paired or lone.
  const str = fc.string({ unit: fc.constantFrom('a', 'B', '0', '1', '9', '_', 'é', '"', '\\', '\u0001', '\u2028', '😀', '\ud800'), maxLength: 6 });
  const step = fc.record({ stepId: fc.oneof(str, fc.constantFrom('__proto__', 'a', '10', '2')), status: fc.constantFrom('completed', 'failed', 'skipped'), outputsHash: fc.option(str, { nil: null }) });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 8 }), (steps) => {
      const o: Record<string, string> = {};
      for (const s of steps) if (s.status === 'completed' && s.outputsHash !== null) o[s.stepId] = s.outputsHash;
      let expected: string | Error;
      try {
        expected = canonicalHash(o);
      } catch (e) {
        expected = e as Error;
      }
      if (expected instanceof Error) assert.throws(() => runOutputsHash(steps));
      else assert.equal(runOutputsHash(steps), expected);
    }),
    { numRuns: 500 },
  );
  assert.equal(runOutputsHash([]), canonicalHash({}));
  const ab = [{ stepId: 'b', status: 'completed', outputsHash: 'x' }, { stepId: 'a', status: 'completed', outputsHash: 'y' }];
  assert.equal(runOutputsHash(ab), canonicalHash({ a: 'y', b: 'x' }));
});

test('trigger rules decide as early as they can', () => {
  // decide(trigger, total, done, ok, failed)
  assert.equal(decide('all_success', 0, 0, 0, 0), 'run');
  assert.equal(decide('all_success', 2, 1, 1, 0), 'wait');
  assert.equal(decide('all_success', 2, 2, 2, 0), 'run');
  assert.equal(decide('all_success', 3, 1, 0, 0), 'skip', 'a skipped predecessor');
  assert.equal(decide('all_success', 3, 1, 0, 1), 'skip');
  assert.equal(decide('all_done', 2, 1, 0, 1), 'wait');
  assert.equal(decide('all_done', 2, 2, 0, 2), 'run');
  assert.equal(decide('one_failed', 3, 1, 0, 1), 'run');
  assert.equal(decide('one_failed', 2, 1, 1, 0), 'wait');
  assert.equal(decide('one_failed', 2, 2, 1, 0), 'skip');
  assert.equal(decide('one_success', 3, 1, 1, 0), 'run');
  assert.equal(decide('one_success', 2, 2, 0, 1), 'skip');
  assert.equal(decide('none_failed', 2, 2, 1, 0), 'run', 'completed + skipped');
  assert.equal(decide('none_failed', 3, 1, 0, 1), 'skip');
  assert.equal(decide('none_failed', 2, 1, 1, 0), 'wait');
});

test('TenantRing serves tenants round-robin, FIFO within a tenant, honouring eligibility', () => {
  const ring = new TenantRing<string>();
  for (const x of ['a1', 'a2', 'a3', 'a4']) ring.push('a', x);
  ring.push('b', 'b1');
  ring.push('c', 'c1');
  ring.push('c', 'c2');
  const order: string[] = [];
  for (let p = ring.take(); p; p = ring.take()) order.push(p.item);
  assert.deepEqual(order, ['a1', 'b1', 'c1', 'a2', 'c2', 'a3', 'a4']);
  assert.equal(ring.size, 0);
  ring.push('a', 'a5');
  ring.push('b', 'b2');
  assert.equal(ring.take((t) => t !== 'a')?.item, 'b2');
  assert.equal(ring.take((t) => t !== 'a'), undefined);
  assert.equal(ring.sizeOf('a'), 1);
  assert.ok(ring.remove('a', 'a5'));
  assert.equal(ring.size, 0);
  assert.deepEqual(ring.tenants(), []);
});

test('TimerHeap fires entries in due order with one timer, and stop clears them', async () => {
  const fired: string[] = [];
  const clock = { now: () => Date.now() };
  const heap = new TimerHeap<string>(clock, (v) => fired.push(v));
  const now = Date.now();
  heap.add(now + 40, 'c');
  heap.add(now + 10, 'a');
  heap.add(now + 20, 'b');
  heap.add(now + 20, 'b2');
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(fired, ['a', 'b', 'b2', 'c']);
  heap.add(Date.now() + 10, 'never');
  heap.stop();
  heap.add(Date.now(), 'after-stop');
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(fired, ['a', 'b', 'b2', 'c']);
});

test('status lists are the state tables\' keys, in order; terminal is exactly "no move out"', () => {
  assert.deepEqual(RUN_STATUSES, ['queued', 'running', 'cancelling', 'completed', 'failed', 'cancelled']);
  assert.deepEqual(STEP_STATUSES, ['pending', 'queued', 'running', 'retrying', 'completed', 'failed', 'skipped', 'cancelled']);
  assert.deepEqual(RUN_STATUSES.filter(isRunTerminal), ['completed', 'failed', 'cancelled']);
  assert.deepEqual(STEP_STATUSES.filter(isStepTerminal), ['completed', 'failed', 'skipped', 'cancelled']);
  for (const s of ['', 'constructor', 'toString', 'done', 'COMPLETED']) assert.equal(isRunTerminal(s) || isStepTerminal(s), false, s);
});

test('the plan cache (the one cache keyed by DAG hash) compiles a version once per hash', () => {
  const row = (id: string) => {
    const doc = { dagId: 'd', version: '1.0.0', steps: [{ id, plugin: 'noop' }], edges: [] };
    return { hash: dagHash(doc), definition: dagCanonicalJson(doc) };
  };
  const plans = new PlanCache(2);
  const a = plans.forRow(row('a'));
  assert.equal(plans.forRow(row('a')), a);
  assert.deepEqual(a.plan.order, ['a']);
  const b = plans.forRow(row('b'));
  assert.notEqual(b, a);
  assert.deepEqual(b.plan.order, ['b']);
  plans.clear();
  assert.notEqual(plans.forRow(row('a')), a);
});
