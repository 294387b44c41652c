import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../store/index.js';
import { eventView, type EventRow } from '../store/events.js';
import { EventHub, type StreamSink } from './hub.js';
import type { StreamEvent } from './types.js';

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'orch-hub-'));
  const store = Store.open({ dataDir: dir });
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const emitter = new EventEmitter();
  const append = (n: number, tenant = 'a') => {
    const rows: EventRow[] = store.tx(() =>
      Array.from({ length: n }, (_, i) =>
        store.events.append({ tenant, type: 'step.updated', dagId: 'd', runId: 'r', stepId: `s${i}`, status: 'running', tsMs: 0, traceId: '0'.repeat(32) }),
      ),
    );
    emitter.emit('committed', rows);
  };
  const hub = new EventHub({
    log: { after: async (tn, s, l) => store.events.since(tn, s, l).map(eventView), lastSeq: async (tn) => store.events.head(tn).seq },
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
  return { hub, append };
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
  append(30);
  const sink = new TestSink();
  sink.backlog = () => 0;
  const s = hub.open('a', {}, 0, sink);
  const replay = hub.replay(s);
  append(5); // arrives during the replay
  await replay;
  append(3);
  assert.deepEqual(sink.events.map((e) => e.seq), Array.from({ length: 38 }, (_, i) => i + 1));
});

test('a consumer that falls behind is cut off with SLOW_CONSUMER, and its place is freed', async (t) => {
  const { hub, append } = setup(t);
  const sink = new TestSink();
  const s = hub.open('a', {}, await hub.head('a'), sink);
  await hub.replay(s);
  append(10);
  assert.equal(sink.closed, 'SLOW_CONSUMER');
  assert.ok(sink.events.length <= 6);
  assert.equal(hub.count('a'), 0);
});
