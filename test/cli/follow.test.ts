/**
 * Following the event stream through real dropped connections (a TCP proxy that cuts them):
 * `events tail` and `runs start --follow` resume with `since=` and print every event exactly
 * once, in order: the same events as the server's own export.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startRun, waitForRun } from '../runs/helpers.js';
import { cli, clientWorld, parseNdjson, runEvents, type ClientWorld } from './helpers.js';
import { dropProxy } from './proxy.js';

const DAGS = [
  {
    dagId: 'chain',
    steps: [
      { id: 'a', plugin: 'noop' },
      { id: 'b', plugin: 'echo', with: { x: 1 } },
      { id: 'c', plugin: 'noop' },
    ],
    edges: [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
    ],
  },
];

describe('follow through dropped connections', () => {
  let w: ClientWorld;
  before(async () => {
    w = await clientWorld(DAGS);
  });
  after(() => w.stop());

  test('events tail --since 0: connections cut mid-line four times, every event printed once, in order', async () => {
    for (let i = 0; i < 3; i++) await waitForRun(w.t, (await startRun(w.t, 'chain')).runId);
    const exported = parseNdjson((await w.t.req('GET', '/events:export')).text)
      .filter((e) => e.seq !== undefined)
      .map(({ prevHash: _p, hash: _h, ...e }) => e);
    assert.ok(exported.length >= 30, `${exported.length} events`);
    const proxy = await dropProxy(w.t.url, (n) => (n < 4 ? { cutAfterEvents: 3 + n } : 'pass'));
    try {
      const r = await cli(['events', 'tail', '--since', '0', '--limit', String(exported.length), '--output', 'ndjson'], {
        env: { ...w.env, ORCH_SERVER: proxy.url },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(proxy.streams(), 5, 'four cut connections, then one that lasts');
      assert.equal(r.stderr.match(/stream interrupted/g)?.length, 4, r.stderr);
      const printed = parseNdjson(r.stdout);
      assert.deepEqual(printed.map((e) => e.seq), exported.map((e) => e.seq), 'no gap, no duplicate');
      assert.deepEqual(printed, exported);
    } finally {
      await proxy.close();
    }
  });

  test('runs start --follow: the stream dropped before its first event, the run ran meanwhile, nothing is missed', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // Connection 0 is cut right after its headers; connection 1 (the resume) waits until the
    // run has ended, so every event of the run happens while the client is disconnected.
    const proxy = await dropProxy(w.t.url, (n) => (n === 0 ? { cutAfterHeaders: true } : n === 1 ? { holdUntil: held } : 'pass'));
    try {
      const before = new Set(((await w.t.req('GET', '/runs?dagId=chain&page_size=500')).body.items as any[]).map((r) => r.runId));
      const following = cli(['runs', 'start', 'chain', '--follow', '--output', 'ndjson'], { env: { ...w.env, ORCH_SERVER: proxy.url } });
      let runId: string | undefined;
      while (!runId) {
        const items = (await w.t.req('GET', '/runs?dagId=chain&page_size=500')).body.items as any[];
        runId = items.find((r) => !before.has(r.runId))?.runId;
        if (!runId) await new Promise((r) => setTimeout(r, 50));
      }
      await waitForRun(w.t, runId);
      release();
      const r = await following;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /stream interrupted/);
      const printed = parseNdjson(r.stdout);
      assert.deepEqual(printed, await runEvents(w.t, runId), 'every event of the run, once, from run.started to run.completed');
    } finally {
      release();
      await proxy.close();
    }
  });
});
