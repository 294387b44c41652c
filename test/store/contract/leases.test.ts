/**
 * Store contract: run ownership by lease, with fencing (docs/SCALE-OUT.md, "Ownership and
 * fencing"), the same on the SQLite and the PostgreSQL store. A run no node holds, or held by a
 * node whose lease ran out, is taken by the next claim with its epoch up by one; the node that
 * lost it can never commit for it again (its group commit is refused whole, nothing written);
 * concurrent claims of many nodes never take a run twice; a fence holds its rows until commit,
 * so a take-over cannot slip between the check and the write.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LeaseLost, type CommitBatch, type RunRow, type StorePorts } from '../../../src/store/index.js';
import { PgStore } from '../../../src/store/pg/index.js';
import { KINDS, storeOf } from './stores.js';

const LONG = 600_000;

function run(tenant: string, i: number): RunRow {
  return {
    runId: `r-${tenant}-${String(i).padStart(4, '0')}`, tenant, dagId: 'd', dagVersion: '1.0.0', dagHash: 'h'.repeat(64), runToken: null,
    traceId: `${i}`.padStart(32, '0'), status: 'queued', inputs: '{}', inputsHash: 'i'.repeat(64), outputsHash: null, createdMs: 1000 + i,
    startedMs: 1000 + i, endedMs: null, cancelReason: null,
  };
}

/** Creates runs with their ownership in one transaction, as starting a run does. */
async function create(s: StorePorts, tenant: string, n: number, nodeId: string | null, from = 0): Promise<string[]> {
  return s.transaction(async (tx) => {
    const ids: string[] = [];
    for (let i = from; i < from + n; i++) {
      const r = run(tenant, i);
      await tx.runs.createRun(r, [{ stepId: 'a', topoIndex: 0 }]);
      assert.equal(await tx.leases.own(tenant, r.runId, nodeId), nodeId === null ? 0 : 1);
      ids.push(r.runId);
    }
    return ids;
  });
}

function batch(tenant: string, runId: string, fence: CommitBatch['fence'], status = 'running'): CommitBatch {
  return {
    runs: [{ runId, status, outputsHash: null, endedMs: status === 'running' ? null : 5000, cancelReason: null, cancelledBy: null }],
    steps: [], attempts: [], artifacts: [], refs: [],
    events: [{ tenant, type: status === 'running' ? 'run.running' : 'run.completed', dagId: 'd', runId, stepId: null, status, tsMs: 5000, traceId: 't' }] as CommitBatch['events'],
    fence,
  };
}

for (const kind of KINDS) {
  test(`${kind}: claims, take-over after a lease runs out, fencing, release and leave`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const t = 'lease';
    const a = await s.leases.heartbeat('node-a', LONG, 4);
    assert.equal(a.nodeId, 'node-a');
    assert.ok(a.leaseUntilMs - a.heartbeatMs === LONG && a.startedMs === a.heartbeatMs, 'lease from the database clock');
    await s.leases.heartbeat('node-b', LONG, 2);
    assert.deepEqual((await s.leases.nodes()).map((n) => [n.nodeId, n.live, n.capacity]), [['node-a', true, 4], ['node-b', true, 2]]);

    // Two runs held by nobody, one started on node-a: claims take the unheld ones, oldest first.
    const free = await create(s, t, 2, null);
    const [mine] = await create(s, t, 1, 'node-a', 2);
    const got = await s.leases.claim('node-b', 10);
    assert.deepEqual(got, free.map((runId) => ({ runId, tenant: t, epoch: 1, from: null })));
    assert.deepEqual(await s.leases.claim('node-a', 10), [], "a live node's runs are not taken");
    assert.deepEqual((await s.leases.held('node-a')).map((h) => [h.runId, h.epoch]), [[mine, 1]]);

    // node-a's fenced commit passes while it holds the run.
    const rows = await s.commitBatch(batch(t, mine!, { nodeId: 'node-a', runs: [{ runId: mine!, epoch: 1 }] }));
    assert.equal(rows.length, 1);

    // node-a's lease runs out (it was paused): node-b takes its run, epoch 2.
    await s.leases.heartbeat('node-a', 0, 4);
    assert.equal((await s.leases.nodes()).find((n) => n.nodeId === 'node-a')?.live, false);
    assert.deepEqual(await s.leases.claim('node-b', 10), [{ runId: mine, tenant: t, epoch: 2, from: 'node-a' }]);

    // node-a wakes up: its commit for the lost run is refused whole; nothing of it is written.
    const before = await s.events.since(t, 0, 100);
    await assert.rejects(
      s.commitBatch(batch(t, mine!, { nodeId: 'node-a', runs: [{ runId: mine!, epoch: 1 }] }, 'completed')),
      (e) => e instanceof LeaseLost && e.runIds.length === 1 && e.runIds[0] === mine,
    );
    assert.deepEqual(await s.events.since(t, 0, 100), before, 'no event written');
    assert.equal((await s.runs.get(t, mine!))?.status, 'running', 'the run row unchanged');
    assert.deepEqual(await s.transaction((tx) => tx.leases.fence('node-a', [{ runId: mine!, epoch: 1 }])), [mine]);
    assert.deepEqual(await s.transaction((tx) => tx.leases.fence('node-b', [{ runId: mine!, epoch: 2 }, { runId: free[0]!, epoch: 1 }])), []);
    assert.deepEqual(await s.transaction((tx) => tx.leases.fence('node-b', [{ runId: mine!, epoch: 1 }])), [mine], 'a stale epoch of the right node is lost too');

    // node-b ends the run: its ownership goes with the same commit.
    await s.commitBatch(batch(t, mine!, { nodeId: 'node-b', runs: [{ runId: mine!, epoch: 2 }], release: [mine!] }, 'completed'));
    assert.equal((await s.runs.get(t, mine!))?.status, 'completed');
    assert.deepEqual((await s.leases.held('node-b')).map((h) => h.runId), free);

    // node-b leaves (drained): its runs are held by nobody, epoch up; node-a (alive again) takes them.
    await s.leases.heartbeat('node-a', LONG, 4);
    assert.equal(await s.leases.leave('node-b'), 2);
    assert.deepEqual((await s.leases.nodes()).map((n) => n.nodeId), ['node-a']);
    assert.deepEqual(await s.leases.claim('node-a', 1), [{ runId: free[0], tenant: t, epoch: 3, from: null }], 'limit holds');
    assert.deepEqual(await s.leases.claim('node-a', 5), [{ runId: free[1], tenant: t, epoch: 3, from: null }]);
    // A node whose row is gone (it left, or was never seen) has no valid lease: its runs are taken.
    await s.transaction((tx) => tx.leases.own(t, 'r-ghost', 'node-gone'));
    assert.deepEqual(await s.leases.claim('node-a', 5), [{ runId: 'r-ghost', tenant: t, epoch: 2, from: 'node-gone' }]);
    await s.leases.release('node-a', [...free, 'r-ghost']);
    assert.deepEqual(await s.leases.held('node-a'), []);
  });
}

for (const kind of KINDS) {
  test(`${kind}: take: one run taken from a live node (a cancel that reached another node), the old holder fenced out`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const t = 'take';
    await s.leases.heartbeat('take-a', LONG, 4);
    await s.leases.heartbeat('take-b', LONG, 4);
    const [id, other] = await create(s, t, 2, 'take-a');
    assert.deepEqual(await s.leases.take('take-b', id!), { runId: id, tenant: t, epoch: 2 });
    assert.deepEqual((await s.leases.held('take-a')).map((h) => h.runId), [other], 'only that run moved');
    await assert.rejects(s.commitBatch(batch(t, id!, { nodeId: 'take-a', runs: [{ runId: id!, epoch: 1 }] })), (e) => e instanceof LeaseLost);
    await s.commitBatch(batch(t, id!, { nodeId: 'take-b', runs: [{ runId: id!, epoch: 2 }], release: [id!] }, 'completed'));
    assert.equal(await s.leases.take('take-a', id!), undefined, 'an ended run has no owner to take from');
    assert.equal(await s.leases.take('take-a', 'r-none'), undefined, 'nor an unknown one');
    await s.leases.release('take-a', [other!]);
  });
}

test('postgres: 8 nodes claiming 200 runs at once take each run exactly once', async (ctx) => {
  const s = await storeOf(ctx, 'postgres');
  if (!s) return;
  await create(s, 'race', 200, null);
  const nodes = Array.from({ length: 8 }, (_, i) => `race-${i}`);
  for (const n of nodes) await s.leases.heartbeat(n, LONG, 1);
  const taken: string[][] = nodes.map(() => []);
  // Rounds in which all 8 claim at once (a round's claims race each other), until none gets any.
  // Rounds rather than free-running loops: under load one node's loop could drain everything
  // before another's first claim ran, and the spread asserted below would hang on timing.
  for (let more = true; more; ) {
    const round = await Promise.all(nodes.map((n) => s.leases.claim(n, 7)));
    more = false;
    round.forEach((got, i) => {
      for (const g of got) {
        assert.equal(g.epoch, 1);
        taken[i]!.push(g.runId);
        more = true;
      }
    });
  }
  const all = taken.flat();
  assert.equal(all.length, 200);
  assert.equal(new Set(all).size, 200, 'no run taken twice');
  assert.ok(taken.filter((x) => x.length > 0).length > 1, 'more than one node took runs');
  for (const [i, n] of nodes.entries()) assert.deepEqual((await s.leases.held(n)).map((h) => h.runId), [...taken[i]!].sort());
  for (const [i, n] of nodes.entries()) await s.leases.release(n, taken[i]!);
});

test('postgres: a take-over waits for a fenced commit in flight, then takes the run', async (ctx) => {
  const s = (await storeOf(ctx, 'postgres')) as PgStore | null;
  if (!s) return;
  const t = 'inflight';
  await s.leases.heartbeat('slow', LONG, 1);
  await s.leases.heartbeat('fast', LONG, 1);
  const [id] = await create(s, t, 1, 'slow');
  await s.leases.heartbeat('slow', 0, 1); // its lease runs out while its commit is in flight
  let during: unknown[] = [];
  await s.transaction(async (tx) => {
    assert.deepEqual(await tx.leases.fence('slow', [{ runId: id!, epoch: 1 }]), []);
    // Another node's claim, on another connection, while the fence holds the row: skipped.
    during = await s.leases.claim('fast', 10);
    await tx.runs.get(t, id!);
  });
  assert.deepEqual(during, [], 'no take-over between the fence and the commit');
  assert.deepEqual(await s.leases.claim('fast', 10), [{ runId: id, tenant: t, epoch: 2, from: 'slow' }]);
  await s.leases.release('fast', [id!]);
});

test('postgres: an in-flight Idempotency-Key of a node that died is taken over; a live node\'s, a finished one or an unnamed claim never', async (ctx) => {
  const s = await storeOf(ctx, 'postgres');
  if (!s) return;
  const k = { tenant: 'idem-nodes', method: 'POST', path: '/runs', key: 'k' };
  const claim = (hash: string, node?: string) => s.transaction((tx) => tx.idem.claim(k, hash, 1, node));
  await s.leases.heartbeat('idem-a', LONG, 1);
  await s.leases.heartbeat('idem-b', LONG, 1);
  assert.equal(await claim('rh-a', 'idem-a'), true);
  assert.equal(await claim('rh-b', 'idem-b'), false, 'A is alive: its request is still in flight');
  assert.equal(await claim('rh-a2', 'idem-a'), false, 'a second request on the same node is in flight too');
  assert.equal(await claim('rh-x'), false, 'a claim that names no node never takes over');
  await s.leases.heartbeat('idem-a', 0, 1); // A's lease runs out: it died mid-request
  assert.equal(await claim('rh-b', 'idem-b'), true, 'B takes the dead node\'s claim over');
  assert.equal((await s.idem.get(k))?.requestHash, 'rh-b', 'as its own request');
  assert.equal(await claim('rh-a', 'idem-a'), false, 'B is alive now');
  await s.transaction((tx) => tx.idem.complete(k, 201, '{}', '{}', null));
  await s.leases.heartbeat('idem-b', 0, 1);
  await s.leases.heartbeat('idem-c', LONG, 1);
  assert.equal(await claim('rh-c', 'idem-c'), false, 'a recorded answer is never taken over');
  assert.equal((await s.idem.get(k))?.state, 'done');
});
