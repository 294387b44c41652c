/**
 * GET /runs/{runId}/artifacts (logs and artifacts named by outputs, keyset pages, tenant
 * isolation) and the stream's runId filter.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { openNdjson } from '../events/stream-client.js';
import { publish, startRun, waitForRun } from './helpers.js';

let t: TestServer;
before(async () => {
  t = await startTestServer(['--allow-unsigned']);
  await publish(t, {
    dagId: 'arts',
    steps: [
      { id: 'make', plugin: 'artifact', with: { content: 'hello', mediaType: 'text/markdown' } },
      { id: 'flaky', plugin: 'fail', with: { times: 1 }, retries: { max: 1, backoffMs: 1 } },
      { id: 'refer', plugin: 'echo', with: { again: '${{ steps.make.outputs.hash }}', list: ['sha256:${{ steps.make.outputs.hash }}'], fake: 'f'.repeat(64) } },
    ],
    edges: [{ from: 'make', to: 'flaky' }, { from: 'flaky', to: 'refer' }],
  });
});
after(() => t.stop());

test('a run\'s artifacts: every attempt\'s log and each output naming an owned artifact, in a stable order, paged by keyset', async () => {
  const run = await waitForRun(t, (await startRun(t, 'arts')).runId);
  assert.equal(run.status, 'completed');
  const res = await t.req('GET', `/runs/${run.runId}/artifacts`);
  assert.equal(res.status, 200, res.text);
  const made = run.steps.find((s: any) => s.stepId === 'make').outputs.hash;
  const items = res.body.items as any[];
  const view = items.map((i) => `${i.stepId}#${i.attempt} ${i.kind} ${i.field}`);
  // Attempts that logged nothing have no log (logsRef null): here only the failed attempt did.
  assert.deepEqual(view, [
    'make#1 output outputs.hash',
    'flaky#1 log logsRef',
    'refer#1 output outputs.again',
    'refer#1 output outputs.list.0',
  ], 'the 64-hex string that is no artifact of the tenant is not listed');
  assert.equal(items[1].hash, run.steps.find((s: any) => s.stepId === 'flaky').attempts[0].logsRef);
  const art = items.find((i) => i.field === 'outputs.hash');
  assert.deepEqual(art, { stepId: 'make', attempt: 1, kind: 'output', field: 'outputs.hash', hash: made, size: 5, mediaType: 'text/markdown' });
  assert.equal(items.find((i) => i.field === 'outputs.list.0').hash, made, 'sha256:<hex> is listed by its hex');
  for (const i of items.filter((x) => x.kind === 'log')) assert.equal(i.mediaType, 'application/x-ndjson');
  assert.equal(res.body.next_page_token, undefined);

  // Keyset pages of 3 give the same list; a token of another run is refused.
  const paged: any[] = [];
  let token: string | undefined;
  do {
    const page = await t.req('GET', `/runs/${run.runId}/artifacts?page_size=2${token ? `&page_token=${token}` : ''}`);
    assert.equal(page.status, 200);
    paged.push(...page.body.items);
    token = page.body.next_page_token;
    if (token) {
      const other = await waitForRun(t, (await startRun(t, 'arts')).runId);
      const wrong = await t.req('GET', `/runs/${other.runId}/artifacts?page_token=${token}`);
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.error.code, 'INVALID_PAGE_TOKEN');
    }
  } while (token);
  assert.deepEqual(paged, items);
});

test('a run\'s artifacts: another tenant\'s run, an unknown id and a malformed id are 404; read scope suffices', async () => {
  const run = await waitForRun(t, (await startRun(t, 'arts')).runId);
  const reader = await t.token({ tenants: ['a'], scopes: ['orchestrator:read'] });
  assert.equal((await t.req('GET', `/runs/${run.runId}/artifacts`, { token: reader })).status, 200);
  for (const [path, tenant] of [
    [`/runs/${run.runId}/artifacts`, 'b'],
    ['/runs/0190b5a0-0000-7000-8000-000000000000/artifacts', 'a'],
    ['/runs/not-a-run/artifacts', 'a'],
  ] as const) {
    const r = await t.req('GET', path, { tenant });
    assert.equal(r.status, 404, path);
    assert.equal(r.body.error.code, 'NOT_FOUND');
  }
});

test('the stream\'s runId filter: only that run\'s events, live and replayed; a malformed runId is 400', async () => {
  const first = await startRun(t, 'arts');
  const s = await openNdjson(t, `?runId=${first.runId}&since=0`);
  const second = await startRun(t, 'arts');
  await waitForRun(t, second.runId);
  await s.until((es) => es.some((e) => e.runId === first.runId && e.type === 'run.completed'));
  s.close();
  const events = s.events.filter((e) => e.type !== 'heartbeat');
  assert.ok(events.length >= 5, `${events.length} events`);
  assert.ok(events.every((e) => e.runId === first.runId), 'no other run\'s events');
  assert.equal(events[0].type, 'run.started', 'replayed from the start');
  const bad = await openNdjson(t, '?runId=nope');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'VALIDATION_FAILED');
});
