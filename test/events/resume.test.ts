/**
 * Resuming the event stream while events keep arriving: a client reads part of the log, drops
 * the connection, and comes back with `since`, with `Last-Event-ID`, or with both (`since`
 * wins), over NDJSON and over WebSocket, while runs go on being started. Across the handover
 * every seq of the tenant's log arrives exactly once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish, waitForRun } from '../runs/helpers.js';
import { openNdjson, openWs, type EventClient } from './stream-client.js';

let t: TestServer;
before(async () => {
  t = await startTestServer(['--allow-unsigned', '--rate-limit', '1000', '--heartbeat', '200']);
});
after(() => t.stop());

/** Starts runs of `tick` for `tenant`, one after another, until stopped; then waits for them all. */
function producer(tenant: string) {
  let stopped = false;
  const ids: string[] = [];
  const loop = (async () => {
    while (!stopped) {
      const r = await t.req('POST', '/runs', { tenant, body: { dagId: 'tick' } });
      assert.equal(r.status, 201, r.text);
      ids.push(r.body.runId);
      await new Promise((res) => setTimeout(res, 5));
    }
  })();
  return {
    ids,
    async stop() {
      stopped = true;
      await loop;
      for (const id of ids) await waitForRun(t, id, { tenant });
    },
  };
}

const events = (c: EventClient) => c.events.filter((e) => e.type !== 'heartbeat');

for (const transport of ['ndjson', 'websocket'] as const) {
  for (const how of ['since', 'Last-Event-ID', 'both'] as const) {
    test(`${transport}, resumed with ${how} while runs keep starting: every seq exactly once`, async () => {
      const tenant = `resume-${transport}-${how}`.toLowerCase();
      await publish(t, { dagId: 'tick', steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'noop' }], edges: [{ from: 'a', to: 'b' }] }, tenant);
      const open = (query: string, headers?: Record<string, string>) =>
        transport === 'ndjson' ? openNdjson(t, query, { tenant, headers }) : openWs(t, query, { tenant, headers });
      const runs = producer(tenant);
      const first = await open('?since=0');
      await first.until((es) => es.filter((e) => e.type !== 'heartbeat').length >= 20, 30_000);
      first.close();
      const seen = events(first);
      const last = seen.at(-1).seq as number;
      // Resume while events still arrive (the producer has not stopped). With both, `since`
      // wins: a Last-Event-ID five events back must not bring them again.
      const resumed =
        how === 'since' ? await open(`?since=${last}`)
        : how === 'Last-Event-ID' ? await open('', { 'last-event-id': String(last) })
        : await open(`?since=${last}`, { 'last-event-id': String(Math.max(0, last - 5)) });
      const moreAfter = runs.ids.length + 5;
      await resumed.until(() => runs.ids.length >= moreAfter, 30_000);
      await runs.stop();
      const head = (await t.server.ports.events.since(tenant, 0, 1_000_000)).at(-1)!.seq;
      await resumed.until((es) => es.some((e) => e.seq === head), 30_000);
      resumed.close();
      const seqs = [...seen, ...events(resumed)].map((e) => e.seq as number);
      assert.ok(head > last + 10, `events arrived across the handover (${last} → ${head})`);
      assert.deepEqual(seqs, Array.from({ length: head }, (_, i) => i + 1), 'every seq exactly once, in order');
      for (const e of [...seen, ...events(resumed)]) assert.equal(e.tenant, tenant);
    });
  }
}
