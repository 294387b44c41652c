/**
 * Store contract: the event log. Per tenant, `seq` runs from 1 with no gap and every event
 * chains to the previous one by hash, on both stores, with many concurrent writers (batches
 * spanning tenants in both orders) while a reader follows the log: the reader must never see a
 * later event before an earlier one (the trap of numbers allocated out of commit order).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventHash, type EventRow, type NewEvent } from '../../../src/store/index.js';
import { KINDS, storeOf, type Kind } from './stores.js';

const ev = (tenant: string, i: number, over: Partial<NewEvent> = {}): NewEvent => ({
  tenant, type: 'step.updated', dagId: 'd', runId: `r${i % 3}`, stepId: `s${i}`, status: 'running', tsMs: 1_700_000_000_000 + i, traceId: 'f'.repeat(32), ...over,
});

/** Asserts a tenant's whole log: seq 1..n, each hash recomputed from the previous one. */
function assertChain(rows: readonly EventRow[], n: number): void {
  assert.equal(rows.length, n);
  let prev = '';
  for (const [i, r] of rows.entries()) {
    assert.equal(r.seq, i + 1, 'seq from 1 with no gap');
    assert.equal(r.prevHash, prev, `event ${r.seq} links to the previous one`);
    assert.equal(r.hash, eventHash(prev, r), `event ${r.seq}'s hash is its content's`);
    prev = r.hash;
  }
}

const transcripts = new Map<Kind, unknown>();

for (const kind of KINDS) {
  test(`${kind}: appends number and chain per tenant; since and ofRun read them back in order`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const a = await s.transaction((tx) => tx.events.append([ev('ea', 0), ev('eb', 1), ev('ea', 2, { stepId: null, type: 'run.completed', status: 'completed' })]));
    assert.deepEqual(a.map((r) => [r.tenant, r.seq]), [['ea', 1], ['eb', 1], ['ea', 2]]);
    const b = await s.commitBatch({
      runs: [], steps: [], attempts: [], artifacts: [], refs: [],
      events: [ev('ea', 3, { scheduleId: 'nightly', detail: '{"actor":"schedule:nightly"}' }), ev('ea', 4, { runId: '', scheduledMs: 1_700_000_000_000, type: 'schedule.missed', detail: '{"missedCount":2}' })],
    });
    assert.deepEqual(b.map((r) => r.seq), [3, 4]);
    const all = await s.events.since('ea', 0, 100);
    assertChain(all, 4);
    assert.deepEqual(all, [a[0], a[2], ...b], 'what append returned is what was stored');
    assert.deepEqual((await s.events.since('ea', 2, 1)).map((r) => r.seq), [3], 'after a seq, limited');
    assert.deepEqual((await s.events.ofRun('ea', 'r0')).map((r) => r.seq), [1, 3]);
    assert.deepEqual(await s.events.ofRun('eb', 'r0'), [], "another tenant's run has no events here");
    assertChain(await s.events.since('eb', 0, 100), 1);
    transcripts.set(kind, [all, await s.events.since('eb', 0, 100)]);
  });

  test(`${kind}: head is the last event, then the checkpoint once every event was pruned`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    assert.deepEqual(await s.events.head('hd'), { seq: 0, hash: '' }, 'before the first event');
    const rows = await s.transaction((tx) => tx.events.append([ev('hd', 0), ev('hd', 1), ev('he', 2)]));
    assert.deepEqual(await s.events.head('hd'), { seq: 2, hash: rows[1]!.hash });
    assert.deepEqual(await s.events.head('he'), { seq: 1, hash: rows[2]!.hash }, 'per tenant');
    await s.transaction((tx) => tx.retention.pruneEvents('hd', { seq: 2, hash: rows[1]!.hash }, 1_700_000_000_000));
    assert.deepEqual(await s.events.since('hd', 0, 10), [], 'every event pruned');
    assert.deepEqual(await s.events.head('hd'), { seq: 2, hash: rows[1]!.hash }, 'the checkpoint: the log continues from it');
    const [next] = await s.transaction((tx) => tx.events.append([ev('hd', 3)]));
    assert.equal(next!.seq, 3);
    assert.deepEqual(await s.events.head('hd'), { seq: 3, hash: next!.hash });
  });

  test(`${kind}: concurrent writers: no gap, no duplicate, chains valid, a follower never sees a hole`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const tenants = ['cx', 'cy'];
    const WRITERS = 16;
    const ROUNDS = 8;
    let writing = true;
    // The follower reads each tenant's log from where it stopped, as the event stream does.
    const follow = async (t: string): Promise<number> => {
      let last = 0;
      let prev = '';
      for (;;) {
        const done = !writing;
        const rows = await s.events.since(t, last, 1000);
        for (const r of rows) {
          assert.equal(r.seq, last + 1, `${t}: the follower saw seq ${r.seq} right after ${last}`);
          assert.equal(r.prevHash, prev);
          last = r.seq;
          prev = r.hash;
        }
        if (done && rows.length === 0) return last;
        if (rows.length === 0) await new Promise((r) => setImmediate(r));
      }
    };
    const followers = tenants.map(follow);
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; i < ROUNDS; i++) {
        // Batches span both tenants, in one order or the other: no deadlock between them.
        const order = (w + i) % 2 ? tenants : [...tenants].reverse();
        const batch = [ev(order[0]!, w * 100 + i), ...(i % 3 ? [ev(order[1]!, w * 100 + i)] : []), ev(order[0]!, w * 100 + i + 50)];
        await s.transaction(async (tx) => {
          const rows = await tx.events.append(batch);
          // More work in the same transaction after the append (a request's other writes).
          await tx.runs.get(order[0]!, 'none');
          return rows;
        });
      }
    };
    try {
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    } finally {
      writing = false;
    }
    const seen = await Promise.all(followers);
    const perTenant = tenants.map((t) => Array.from({ length: WRITERS * ROUNDS }, (_, k) => k).reduce((n, k) => {
      const w = Math.floor(k / ROUNDS);
      const i = k % ROUNDS;
      const first = (w + i) % 2 ? tenants[0] : tenants[1];
      return n + (first === t ? 2 : 0) + (first !== t && i % 3 ? 1 : 0);
    }, 0));
    assert.deepEqual(seen, perTenant, 'the follower saw every event');
    for (const [k, t] of tenants.entries()) assertChain(await s.events.since(t, 0, 10_000), perTenant[k]!);
  });
}

test('both stores numbered, chained and stored the same events identically', (ctx) => {
  const a = transcripts.get('sqlite');
  const b = transcripts.get('postgres');
  if (!a || !b) return ctx.skip('one of the stores did not run');
  assert.equal(JSON.stringify(b), JSON.stringify(a));
});

