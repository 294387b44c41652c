// The group commit of one chain step (a run, a step, an attempt, two events) through the storage
// ports, on each store: SQLite as the engine writes today (store.tx), SQLite through
// SqlitePorts.commitBatch, and PostgreSQL through PgStore.commitBatch (a throwaway cluster from
// test/helpers/pg.ts: Debian's postgresql, fsync=off). Figures: docs/SCALE-OUT.md, "The driver".
//
// Usage: node --import tsx scripts/store-batch-bench.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { SqlitePorts, Store, type CommitBatch, type StorePorts } from '../src/store/index.js';
import { PgStore } from '../src/store/pg/index.js';
import { testDatabase } from '../test/helpers/pg.js';

const noSkip = { skip: (why: string) => { throw new Error(why); } } as unknown as TestContext;

const STEPS = 5000;
async function seed(p: StorePorts, runs: number) {
  await p.transaction(async (tx) => {
    for (let r = 0; r < runs; r++) await tx.runs.createRun({ runId: `r${r}`, tenant: `t${r % 4}`, dagId: 'd', dagVersion: '1', dagHash: 'h', runToken: null, traceId: 'x'.repeat(32), status: 'running', inputs: '{}', inputsHash: 'i', outputsHash: null, createdMs: 1, startedMs: 1, endedMs: null, cancelReason: null },
      Array.from({ length: STEPS / runs }, (_, i) => ({ stepId: `s${i}`, topoIndex: i })));
  });
}
function batch(i: number, runs: number): CommitBatch {
  const r = i % runs, s = Math.floor(i / runs), runId = `r${r}`, stepId = `s${s}`, tenant = `t${r % 4}`;
  return {
    runs: [{ runId, status: 'running', outputsHash: null, endedMs: null, cancelReason: null, cancelledBy: null }],
    steps: [{ runId, stepId, topoIndex: s, status: 'completed', attempt: 1, startedMs: i, endedMs: i + 1, inputsHash: 'a', outputsHash: 'b', outputs: '{}', logsRef: null, errorCode: null, errorMessage: null, retryable: null, nextAttemptMs: null }],
    attempts: [{ runId, stepId, attempt: 1, status: 'completed', startedMs: i, endedMs: i + 1, errorCode: null, errorMessage: null, logsRef: null, outputsHash: 'b' }],
    artifacts: [], refs: [],
    events: [
      { tenant, type: 'step.updated', dagId: 'd', runId, stepId, status: 'completed', tsMs: i, traceId: 'x'.repeat(32) },
      { tenant, type: 'step.updated', dagId: 'd', runId, stepId: `s${s + 1}`, status: 'running', tsMs: i, traceId: 'x'.repeat(32) },
    ],
  };
}
async function measure(name: string, p: StorePorts, n: number, conc: number, runs: number) {
  await seed(p, runs);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => { for (let i = next++; i < n; i = next++) await p.commitBatch(batch(i, runs)); }));
  const s = (performance.now() - t0) / 1000;
  console.log(`${name.padEnd(34)} ${conc} at once: ${(n / s).toFixed(0)} batches/s (${n})  load ${loadavg()[0]!.toFixed(2)}`);
}
const dir = mkdtempSync(join(tmpdir(), 'bb-'));
const store = Store.open({ dataDir: dir });
// Direct: what the engine does today (store.tx + the query objects).
{
  const p = new SqlitePorts(store);
  await seed(p, 50);
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) { const b = batch(i, 50); store.tx(() => { for (const r of b.runs) store.runs.updateRun(r.runId, r.status, r.outputsHash, r.endedMs, r.cancelReason, r.cancelledBy); store.runs.writeSteps(b.steps); store.runs.writeAttempts(b.attempts); store.events.appendMany(b.events); }); }
  console.log(`sqlite store.tx direct (today)            1 at once: ${(STEPS / ((performance.now() - t0) / 1000)).toFixed(0)} batches/s  load ${loadavg()[0]!.toFixed(2)}`);
}
store.close(); rmSync(dir, { recursive: true, force: true });
const dir2 = mkdtempSync(join(tmpdir(), 'bb-'));
const store2 = Store.open({ dataDir: dir2 });
await measure('sqlite SqlitePorts.commitBatch', new SqlitePorts(store2), STEPS, 1, 50);
store2.close(); rmSync(dir2, { recursive: true, force: true });
const db = (await testDatabase(noSkip))!;
const pgs = await PgStore.open({ url: db.url, maxConnections: 8 });
await measure('postgres PgStore.commitBatch', pgs, 2000, 1, 50);
await pgs.close();
await db.drop();
const db2 = (await testDatabase(noSkip))!;
const pgs3 = await PgStore.open({ url: db2.url, maxConnections: 8 });
await measure('postgres PgStore.commitBatch', pgs3, 2000, 8, 50);
await pgs3.close();
await db2.drop();
