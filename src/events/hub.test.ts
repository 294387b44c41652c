import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlitePorts, Store } from '../store/index.js';
import { eventView, type EventRow } from '../store/events.js';
import { EventHub, type StreamSink } from './hub.js';
import type { StreamEvent } from './types.js';

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'orch-hub-'));
  const store = Store.open({ dataDir: dir });
  const ports = new SqlitePorts(store);
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const emitter = new EventEmitter();
  /** `afterRead`: runs right after each read of the log, before the hub sees its rows. */
  const hooks: { afterRead?: (n: number) => void } = {};
  /** Commits n events; `announce: false` is another node's commit (this node's feed never sees it). */
  const commit = (n: number, tenant: string) => {
    const events = Array.from({ length: n }, (_, i) => ({ tenant, type: 'step.updated' as const, dagId: 'd', runId: 'r', stepId: `s${i}`, status: 'running', tsMs: 0, traceId: '0'.repeat(32) }));
    return ports.commitBatch({ runs: [], steps: [], attempts: [], artifacts: [], refs: [], events }); // on SQLite: written when this returns
  };
  const append = async (n: number, tenant = 'a', announce = true) => {
    const rows = await commit(n, tenant);
    if (announce) emitter.emit('committed', rows);
  };
  const hub = new EventHub({
    log: {
      after: async (tn, s, l) => {
        const rows = (await ports.events.since(tn, s, l)).map(eventView);
        hooks.afterRead?.(rows.length);
        return rows;
      },
      lastSeq: async (tn) => (await ports.events.head(tn)).seq,
    },
    feed: {
      subscribe(fn) {
        const l = (rows: EventRow[]) => fn(rows.map(eventView));
        emitter.on('committed', l);
        return () => emitter.off('committed', l);
      },
    },
    maxStreamsPerTenant: 10,
    maxBacklogBytes: 1000,
    replayBatch: 7,
  });
  return { hub, append, commit, hooks };
}

class TestSink implements StreamSink {
  events: StreamEvent[] = [];
  closed?: string;
  pending = 0;
  write(e: StreamEvent) {
    this.events.push(e);
    this.pending += 200;
  }
  backlog() {
    return this.pending;
  }
  close(code: string) {
    this.closed = code;
  }
}

test('replay in batches while events keep arriving: every seq once, in order', async (t) => {
  const { hub, append } = setup(t);
  await append(30);
  const sink = new TestSink();
  sink.backlog = () => 0;
  const s = hub.open('a', {}, 0, sink);
  const replay = hub.replay(s);
  await append(5); // arrives during the replay
  await replay;
  await append(3);
  assert.deepEqual(sink.events.map((e) => e.seq), Array.from({ length: 38 }, (_, i) => i + 1));
});

test('a consumer that falls behind is cut off with SLOW_CONSUMER, and its place is freed', async (t) => {
  const { hub, append } = setup(t);
  const sink = new TestSink();
  const s = hub.open('a', {}, await hub.head('a'), sink);
  await hub.replay(s);
  await append(10);
  assert.equal(sink.closed, 'SLOW_CONSUMER');
  assert.ok(sink.events.length <= 6);
  assert.equal(hub.count('a'), 0);
});

/** Waits until the hub's reads of the log (promises on the SQLite ports: already settled) are done. */
const settle = () => new Promise((r) => setImmediate(r));

test('another node\'s events: a piece that does not connect, a wake-up or a resync makes the hub read the log; each seq once, in order', async (t) => {
  const { hub, append } = setup(t);
  await append(2);
  const sink = new TestSink();
  sink.backlog = () => 0;
  await hub.replay(hub.open('a', {}, 0, sink));
  await append(3, 'a', false); // another node: 3..5, unannounced here
  await append(2); // this node: 6..7, does not connect to 2
  await settle();
  assert.deepEqual(sink.events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7]);
  await append(2, 'a', false); // 8..9
  await settle();
  assert.equal(sink.events.length, 7, 'not announced: nothing yet');
  hub.wake([{ tenant: 'a', seq: 9 }, { tenant: 'nobody-streams', seq: 4 }]);
  await settle();
  assert.deepEqual(sink.events.map((e) => e.seq).slice(7), [8, 9]);
  hub.wake([{ tenant: 'a', seq: 9 }]); // nothing new: no read, no duplicate
  await append(1, 'a', false); // 10, its wake-up lost
  hub.resync();
  await settle();
  await append(1); // 11
  assert.deepEqual(sink.events.map((e) => e.seq), Array.from({ length: 11 }, (_, i) => i + 1));
  assert.equal(sink.closed, undefined);
});

test('a stream replaying when another node commits reads the log again before it goes live', async (t) => {
  const { hub, append, commit, hooks } = setup(t);
  await append(20);
  const sink = new TestSink();
  sink.backlog = () => 0;
  hooks.afterRead = (n) => {
    if (n >= 7) return;
    // Right after the replay's last read, before it goes live: another node commits 21..22.
    hooks.afterRead = undefined;
    void commit(2, 'a');
    hub.wake([{ tenant: 'a', seq: 22 }]);
  };
  await hub.replay(hub.open('a', {}, 0, sink)); // 7 per read
  assert.deepEqual(sink.events.map((e) => e.seq), Array.from({ length: 22 }, (_, i) => i + 1), 'live with 21..22');
  await append(1);
  assert.deepEqual(sink.events.map((e) => e.seq), Array.from({ length: 23 }, (_, i) => i + 1));
});
