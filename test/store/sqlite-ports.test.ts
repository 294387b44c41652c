/**
 * The SQLite side of the ports (src/store/sqlite-ports.ts) where it differs from PostgreSQL:
 * one connection, so transactions queue one behind the other, and a transaction may not span an
 * event-loop turn (other code could write inside it): one that does is rolled back and refused.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlitePorts, Store, type RunRow } from '../../src/store/index.js';

const dir = mkdtempSync(join(tmpdir(), 'stella-sqlite-ports-'));
const store = Store.open({ dataDir: dir });
const ports = new SqlitePorts(store);
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (runId: string): RunRow => ({
  runId, tenant: 't', dagId: 'd', dagVersion: '1.0.0', dagHash: 'h', runToken: null, traceId: 'x', status: 'queued', inputs: '{}',
  inputsHash: 'i', outputsHash: null, createdMs: 1, startedMs: 1, endedMs: null, cancelReason: null,
});

test('a transaction that awaits something other than the ports is rolled back and refused', async () => {
  await assert.rejects(
    ports.transaction(async (tx) => {
      await tx.runs.createRun(run('r-late'), []);
      await new Promise((r) => setTimeout(r, 1)); // a real wait: an event-loop turn passes
      await tx.events.append([{ tenant: 't', type: 'run.started', dagId: 'd', runId: 'r-late', stepId: null, status: 'queued', tsMs: 1, traceId: 'x' }]);
    }),
    /spanned an event-loop turn/,
  );
  assert.equal(await ports.runs.get('t', 'r-late'), undefined, 'nothing of it was kept');
  assert.deepEqual(await ports.events.since('t', 0, 10), []);
  // The connection is usable again, and the event log numbers from 1 (its cached head was dropped).
  const [e] = await ports.transaction((tx) => tx.events.append([{ tenant: 't', type: 'run.started', dagId: 'd', runId: 'r1', stepId: null, status: 'queued', tsMs: 1, traceId: 'x' }]));
  assert.equal(e?.seq, 1);
});

test('transactions started together run one after the other, each whole', async () => {
  const order: string[] = [];
  await Promise.all(['a', 'b', 'c'].map((id) => ports.transaction(async (tx) => {
    order.push(`begin ${id}`);
    await tx.runs.createRun(run(`r-${id}`), [{ stepId: 's', topoIndex: 0 }]);
    await tx.runs.get('t', `r-${id}`);
    order.push(`end ${id}`);
  })));
  assert.deepEqual(order, ['begin a', 'end a', 'begin b', 'end b', 'begin c', 'end c']);
  assert.equal((await ports.runs.list({ tenant: 't', limit: 10 })).length, 3);
  // A callback that throws before its first await rolls back too.
  await assert.rejects(ports.transaction(() => {
    store.runs.insertRun(run('r-sync'));
    throw new Error('bad input');
  }), /bad input/);
  assert.equal(await ports.runs.get('t', 'r-sync'), undefined);
});

test('commits through the ports count for the WAL checkpointer as store.tx commits do (it starts its thread on demand)', async () => {
  const c = store.startBackgroundCheckpoints(undefined, { wakeCommits: 3 })!;
  try {
    for (let i = 0; i < 2; i++) await ports.transaction(async (tx) => tx.runs.createRun(run(`r-ckpt-${i}`), []));
    assert.equal(c.running, false, 'two commits: no thread yet');
    await ports.transaction(async (tx) => tx.runs.createRun(run('r-ckpt-2'), []));
    assert.equal(c.running, true, 'the third commit through the ports starts it');
  } finally {
    await c.stop();
  }
});
