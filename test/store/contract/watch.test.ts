/**
 * Store contract: one event stream across nodes (docs/SCALE-OUT.md, "One event stream across
 * nodes"). Node B's committed appends wake node A's watch with the tenants' new heads; a rolled
 * back append wakes nobody; a lost listening connection comes back by itself and tells the
 * listener to re-read; payloads of many tenants are split under PostgreSQL's limit. The embedded
 * store's watch never fires (one process publishes its own commits).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import type { NewEvent } from '../../../src/store/index.js';
import { headPayloads } from '../../../src/store/pg/watch.js';
import { twoNodes } from '../../helpers/pg.js';
import { until } from '../../helpers/wait.js';
import { storeOf } from './stores.js';

const ev = (tenant: string): NewEvent => ({ tenant, type: 'run.started', dagId: 'd', runId: 'r', stepId: null, status: 'queued', tsMs: 1, traceId: 't' });

test('postgres: a commit on node B wakes node A with the heads; a rollback wakes nobody; a lost connection resyncs', async (ctx) => {
  const nodes = await twoNodes(ctx);
  if (!nodes) return;
  const { a, b, url } = nodes;
  const seen: Array<{ tenant: string; seq: number }> = [];
  let resyncs = 0;
  const watch = await a.watchEvents({ heads: (h) => seen.push(...h), resync: () => resyncs++ });
  try {
    const t0 = performance.now();
    await b.commitBatch({ runs: [], steps: [], attempts: [], artifacts: [], refs: [], events: [ev('w1'), ev('w2'), ev('w1')] });
    await until(() => seen.length >= 2, () => `A woken (saw ${JSON.stringify(seen)})`);
    ctx.diagnostic(`wake-up after the commit returned: ${(performance.now() - t0).toFixed(1)} ms (load-dependent; the benchmark measures it)`);
    assert.deepEqual(seen.sort((x, y) => x.tenant.localeCompare(y.tenant)), [{ tenant: 'w1', seq: 2 }, { tenant: 'w2', seq: 1 }]);

    // Rolled back: no notification. A marker commit after it proves the quiet is not a delay.
    seen.length = 0;
    await assert.rejects(b.transaction(async (tx) => {
      await tx.events.append([ev('w1')]);
      throw new Error('abort');
    }));
    await b.commitBatch({ runs: [], steps: [], attempts: [], artifacts: [], refs: [], events: [ev('marker')] });
    await until(() => seen.some((h) => h.tenant === 'marker'), 'the marker commit wakes A');
    assert.deepEqual(seen, [{ tenant: 'marker', seq: 1 }], 'nothing from the rolled-back append');
    assert.equal(resyncs, 0);

    // The listening connection is killed: it comes back and says "re-read", then wakes as before.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const killed = await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'stella-events-watch' and datname = current_database()`);
      assert.equal(killed.rowCount, 1);
    } finally {
      await admin.end();
    }
    await until(() => resyncs === 1, 'the watch reconnects and asks for a re-read');
    seen.length = 0;
    await b.commitBatch({ runs: [], steps: [], attempts: [], artifacts: [], refs: [], events: [ev('w2')] });
    await until(() => seen.length === 1, 'woken again after the reconnect');
    assert.deepEqual(seen, [{ tenant: 'w2', seq: 2 }]);
  } finally {
    await watch.close();
  }
});

test('heads of many tenants are split into payloads under the 8000-byte limit, none lost', () => {
  const heads = new Map(Array.from({ length: 600 }, (_, i) => [`tenant-with-a-long-name-${i}`.padEnd(60, 'x'), i + 1] as const));
  const payloads = headPayloads(heads);
  assert.ok(payloads.length > 1);
  for (const p of payloads) assert.ok(Buffer.byteLength(p) < 8000, `${Buffer.byteLength(p)} bytes`);
  assert.deepEqual(new Map(payloads.flatMap((p) => JSON.parse(p) as Array<[string, number]>)), heads);
});

test('sqlite: the embedded store is one process: its watch opens and closes, and never fires', async (ctx) => {
  const s = await storeOf(ctx, 'sqlite');
  let fired = 0;
  const w = await s!.watchEvents({ heads: () => fired++, resync: () => fired++ });
  await s!.commitBatch({ runs: [], steps: [], attempts: [], artifacts: [], refs: [], events: [ev('solo')] });
  await new Promise((r) => setImmediate(r));
  await w.close();
  assert.equal(fired, 0);
});
