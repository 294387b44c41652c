/**
 * Store contract: a group commit written inside a request's transaction (`tx.writeBatch`, what a
 * cancel does) commits or rolls back with the request's own writes, and artifact references
 * (`artifacts.addRefs`) are idempotent and ignore hashes the tenant does not own — on the SQLite
 * and the PostgreSQL store alike.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CommitBatch, NewEvent, RunRow } from '../../../src/store/index.js';
import { KINDS, storeOf } from './stores.js';

function run(tenant: string, runId: string): RunRow {
  return {
    runId, tenant, dagId: 'd', dagVersion: '1.0.0', dagHash: 'h'.repeat(64), runToken: null, traceId: '0'.repeat(32), status: 'queued',
    inputs: '{}', inputsHash: 'i'.repeat(64), outputsHash: null, createdMs: 10, startedMs: 10, endedMs: null, cancelReason: null,
  };
}

const ev = (tenant: string, runId: string, status: string): NewEvent => ({ tenant, type: 'run.updated', dagId: 'd', runId, stepId: null, status, tsMs: 20, traceId: '0'.repeat(32) });

function batch(tenant: string, runId: string, status: string): CommitBatch {
  return {
    runs: [{ runId, status, outputsHash: null, endedMs: null, cancelReason: 'stop', cancelledBy: 'alice' }],
    steps: [], attempts: [], artifacts: [], refs: [], events: [ev(tenant, runId, status)],
  };
}

for (const kind of KINDS) {
  test(`${kind}: a batch written in a request's transaction commits with it, or rolls back with it`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const t = 'inreq';
    await s.transaction((tx) => tx.runs.createRun(run(t, 'r1'), [{ stepId: 'a', topoIndex: 0 }]));
    await assert.rejects(
      s.transaction(async (tx) => {
        const rows = await tx.writeBatch(batch(t, 'r1', 'cancelling'));
        assert.equal(rows[0]?.seq, 1, 'numbered inside the transaction');
        throw new Error('the request failed');
      }),
      /the request failed/,
    );
    assert.equal((await s.runs.get(t, 'r1'))?.status, 'queued', 'the batch rolled back with the request');
    assert.deepEqual(await s.events.since(t, 0, 10), []);
    const rows = await s.transaction(async (tx) => {
      const written = await tx.writeBatch(batch(t, 'r1', 'cancelling'));
      await tx.events.append([ev(t, 'r1', 'answered')]);
      return written;
    });
    assert.deepEqual(rows.map((r) => [r.seq, r.status]), [[1, 'cancelling']]);
    const run1 = await s.runs.get(t, 'r1');
    assert.deepEqual([run1?.status, run1?.cancelReason, run1?.cancelledBy], ['cancelling', 'stop', 'alice']);
    assert.deepEqual((await s.events.since(t, 0, 10)).map((r) => [r.seq, r.status]), [[1, 'cancelling'], [2, 'answered']]);
  });

  test(`${kind}: artifact references: idempotent, only to hashes the tenant owns`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const hash = 'b'.repeat(64);
    await s.transaction(async (tx) => {
      await tx.artifacts.own({ tenant: 'refs', hash, size: 3, mediaType: 'text/plain', createdMs: 1 });
      await tx.artifacts.addRefs([{ tenant: 'refs', hash, holder: 'r1' }, { tenant: 'refs', hash, holder: 'r1' }]);
    });
    // Again (another transaction), another tenant's hash, a hash nobody owns, and nothing at all.
    await s.artifacts.addRefs([{ tenant: 'refs', hash, holder: 'r1' }, { tenant: 'refs', hash, holder: 'r2' }]);
    await s.artifacts.addRefs([{ tenant: 'other', hash, holder: 'r3' }, { tenant: 'refs', hash: 'c'.repeat(64), holder: 'r3' }]);
    await s.artifacts.addRefs([]);
    assert.equal(await s.artifacts.owns('other', hash), undefined, 'a reference gives no ownership');
    assert.equal(await s.artifacts.owns('refs', 'c'.repeat(64)), undefined);
    assert.deepEqual(await s.artifacts.owns('refs', hash), { size: 3, mediaType: 'text/plain' });
  });
}
