/**
 * The live stream across nodes (docs/SCALE-OUT.md, "One event stream across nodes"): two
 * PostgreSQL stores on one database are two nodes. Node A serves the streams (its hub is fed
 * its own commits and woken by B's through LISTEN/NOTIFY); events are appended through B and
 * through A at the same time, interleaving in one tenant's log. Every stream on A gets every
 * event exactly once, in seq order, from where it started; the log's chain is valid.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, test } from 'node:test';
import { eventHub } from '../../src/cli/hub.js';
import type { StreamEvent, StreamSink } from '../../src/events/index.js';
import { eventHash, eventView, type EventRow, type NewEvent, type StorePorts } from '../../src/store/index.js';
import { PgStore } from '../../src/store/pg/index.js';
import { testDatabase } from '../helpers/pg.js';
import { until } from '../helpers/wait.js';

class Sink implements StreamSink {
  events: StreamEvent[] = [];
  closed?: string;
  write(e: StreamEvent) {
    this.events.push(e);
  }
  backlog() {
    return 0;
  }
  close(code: string, message: string) {
    this.closed = `${code}: ${message}`;
  }
}

let n = 0;
const ev = (tenant: string, node: string): NewEvent => ({
  tenant, type: 'step.updated', dagId: 'd', runId: `r-${node}`, stepId: `s${n++}`, status: 'running', tsMs: 1_700_000_000_000 + n, traceId: 'a'.repeat(32),
});
const batch = (events: NewEvent[]) => ({ runs: [], steps: [], attempts: [], artifacts: [], refs: [], events });
const seqs = (s: Sink) => s.events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('postgres: events of another node reach a stream on this node once each, in seq order, interleaved with this node\'s', { timeout: 300_000 }, async (ctx) => {
  const db = await testDatabase(ctx);
  if (!db) return;
  const a = await PgStore.open({ url: db.url });
  const b = await PgStore.open({ url: db.url });
  const committed = new EventEmitter(); // node A's scheduler: announces A's commits
  const hub = eventHub(a, committed, 32);
  after(async () => {
    await hub.close();
    await a.close();
    await b.close();
    await db.drop();
  });
  // Node A's commits are announced locally (as its scheduler does); node B's only reach A
  // through the table and the wake-up.
  const commitOnA = async (events: NewEvent[]) => committed.emit('committed', await a.commitBatch(batch(events)));
  const commitOnB = async (events: NewEvent[]) => void (await b.commitBatch(batch(events)));

  await commitOnB([ev('t', 'b'), ev('t', 'b')]); // before any stream: replayed from the log
  const first = new Sink();
  const s1 = hub.open('t', {}, 0, first);
  void hub.replay(s1);
  const onlyB = new Sink();
  void hub.replay(hub.open('t', { runId: 'r-b' }, 0, onlyB));

  const ROUNDS = 40;
  let later: { sink: Sink; from: number } | undefined;
  const writer = async (node: 'a' | 'b') => {
    for (let i = 0; i < ROUNDS; i++) {
      const events = [ev('t', node), ...(i % 3 === 0 ? [ev('other', node), ev('t', node)] : [])];
      await (node === 'a' ? commitOnA(events) : commitOnB(events));
      if (node === 'a' && i === ROUNDS / 2) {
        // A stream opened midway, without since: from the head at that moment.
        const from = await hub.head('t');
        const sink = new Sink();
        void hub.replay(hub.open('t', {}, from, sink));
        later = { sink, from };
      }
      if (i % 4 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  await Promise.all([writer('a'), writer('b'), writer('b')]);

  const log: EventRow[] = await a.events.since('t', 0, 100_000);
  const total = log.length;
  assert.equal(total, 2 + 3 * (ROUNDS + Math.ceil(ROUNDS / 3)));
  const show = (s: Sink) => () => `${s.events.length}/${total} events (${s.closed ?? 'open'}), last ${s.events.at(-1)?.seq}`;
  await until(() => first.events.length >= total, show(first), 240_000);
  await until(() => later !== undefined && later.sink.events.length >= total - later.from, show(later?.sink ?? first), 240_000);

  assert.deepEqual(seqs(first), range(1, total), 'every event once, in seq order');
  assert.deepEqual(first.events, log.map(eventView), 'exactly what the log holds');
  assert.deepEqual(seqs(later!.sink), range(later!.from + 1, total), 'a stream without since starts after the head it was opened at');
  assert.deepEqual(onlyB.events, log.filter((e) => e.runId === 'r-b').map(eventView), 'a filtered stream: its events, once each, in order');
  for (const s of [first, later!.sink, onlyB]) assert.equal(s.closed, undefined);
  let prev = '';
  for (const e of log) {
    assert.equal(e.prevHash, prev, `event ${e.seq} chains to the previous one`);
    assert.equal(e.hash, eventHash(prev, e));
    prev = e.hash;
  }
  const fromBoth = new Set(log.map((e) => e.runId));
  assert.deepEqual([...fromBoth].sort(), ['r-a', 'r-b'], 'both nodes wrote to the one log');

  // Quiet now; one more commit on B alone still wakes A's streams.
  await commitOnB([ev('t', 'b')]);
  await until(() => first.events.length === total + 1, show(first), 60_000);
  assert.equal(first.events.at(-1)!.seq, total + 1);
});

test('sqlite: with one node the stream is fed by its own commits (the watch never fires)', async (ctx) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { SqlitePorts, Store } = await import('../../src/store/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'stella-hub-'));
  const store = Store.open({ dataDir: dir });
  const ports: StorePorts = new SqlitePorts(store);
  const committed = new EventEmitter();
  const hub = eventHub(ports, committed, 4);
  ctx.after(async () => {
    await hub.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  committed.emit('committed', await ports.commitBatch(batch([ev('t', 'a'), ev('t', 'a')])));
  const sink = new Sink();
  const replayed = hub.replay(hub.open('t', {}, await hub.head('t'), sink));
  committed.emit('committed', await ports.commitBatch(batch([ev('t', 'a')])));
  await replayed;
  committed.emit('committed', await ports.commitBatch(batch([ev('t', 'a'), ev('other', 'a'), ev('t', 'a')])));
  assert.deepEqual(seqs(sink), [3, 4, 5]);
});
