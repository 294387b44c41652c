/** GET /admin/metrics: names, content type, bounded labels, tenant filtering, promtool. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { haveTool } from '../helpers/tools.js';
import { dag, UUID_RE } from './helpers.js';

let t: TestServer;
let star: string;

before(async () => {
  t = await startTestServer();
  star = await t.token({ tenants: ['*'] });
});
after(() => t.stop());

const REQUIRED = [
  'orchestrator_runs_total',
  'orchestrator_run_duration_seconds',
  'orchestrator_step_duration_seconds',
  'orchestrator_step_retries_total',
  'orchestrator_queue_depth',
  'orchestrator_http_requests_total',
  'orchestrator_http_request_duration_seconds',
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
];

async function scrape(token = star) {
  const res = await t.req('GET', '/admin/metrics', { token, tenant: null });
  assert.equal(res.status, 200, res.text.slice(0, 200));
  return res;
}

/** Every label value of every sample line. */
function labelValues(text: string, label: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const re = new RegExp(`[{,]${label}="((?:[^"\\\\]|\\\\.)*)"`, 'g');
    for (const m of line.matchAll(re)) out.push(m[1]!);
  }
  return out;
}

test('Prometheus text 0.0.4 with every required metric', async () => {
  const res = await scrape();
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  for (const name of REQUIRED) assert.match(res.text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  assert.match(res.text, /^# TYPE orchestrator_run_duration_seconds histogram$/m);
  assert.match(res.text, /^# TYPE orchestrator_http_request_duration_seconds histogram$/m);
  assert.match(res.text, /^# TYPE orchestrator_queue_depth gauge$/m);
});

test('route labels are route templates, never concrete paths or ids', async () => {
  const runId = '01900000-0000-7000-8000-0000000000ab';
  await t.req('POST', '/dags', { body: dag('concrete-dag-x', '3.1.4') });
  await t.req('GET', '/dags/concrete-dag-x/3.1.4');
  await t.req('GET', '/dags/concrete-dag-x/9.9.9');
  await t.req('POST', '/dags/concrete-dag-x/3.1.4:disable', { body: {} });
  await t.req('GET', `/runs/${runId}`);
  await t.req('GET', `/runs/${runId}/steps/some-step`);
  await t.req('GET', `/artifacts/${'ab'.repeat(32)}`);
  await t.req('GET', `/no/such/${runId}`);
  await t.req('PUT', '/dags/concrete-dag-x/3.1.4');
  await t.req('FROB' as string, '/dags');
  const text = (await scrape()).text;
  const routes = new Set(labelValues(text, 'route'));
  const templates = new Set([...t.server.routes.map((r) => r.path), 'unmatched']);
  assert.ok(routes.size > 0);
  for (const r of routes) assert.ok(templates.has(r), `route label ${r} is a template`);
  assert.ok(routes.has('/dags/{dagId}/{version}'));
  assert.ok(routes.has('/dags/{dagId}/{version}:disable'));
  assert.ok(routes.has('unmatched'));
  for (const line of text.split('\n').filter((l) => !l.startsWith('#'))) {
    assert.doesNotMatch(line, UUID_RE, line);
    assert.doesNotMatch(line, /concrete-dag-x|3\.1\.4|9\.9\.9|some-step|abab/, line);
  }
  for (const m of labelValues(text, 'method')) assert.ok(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'other'].includes(m), m);
  for (const s of labelValues(text, 'status')) assert.match(s, /^([1-5]\d\d|completed|failed|cancelled|retrying|timed_out|other)$/, s);
});

test('run and step events feed the run/step metrics; tenant series are limited to the token\'s tenants', async () => {
  const ops = t.server.deps.services.ops;
  const at = (ms: number) => new Date(Date.parse('2026-01-01T00:00:00.000Z') + ms).toISOString();
  const dagId = 'd';
  const run = (tenant: string, runId: string, end: string) => [
    { type: 'run.started', tenant, dagId, runId, status: 'queued', timestamp: at(0) },
    { type: 'step.updated', tenant, dagId, runId, stepId: 's', status: 'running', timestamp: at(100) },
    { type: 'step.updated', tenant, dagId, runId, stepId: 's', status: 'retrying', timestamp: at(300) },
    { type: 'step.updated', tenant, dagId, runId, stepId: 's', status: 'running', timestamp: at(400) },
    { type: 'step.updated', tenant, dagId, runId, stepId: 's', status: end === 'run.completed' ? 'completed' : 'failed', timestamp: at(900) },
    { type: end, tenant, dagId, runId, status: end.slice(4), timestamp: at(1500) },
  ];
  ops.metrics.onEvents(run('tenant-a', 'r1', 'run.completed'));
  ops.metrics.onEvents([...run('tenant-b', 'r2', 'run.failed'), { type: 'bogus' } as any]);

  const all = (await scrape()).text;
  assert.match(all, /^orchestrator_runs_total\{tenant="tenant-a",status="completed"\} 1$/m);
  assert.match(all, /^orchestrator_runs_total\{tenant="tenant-b",status="failed"\} 1$/m);
  assert.match(all, /^orchestrator_step_retries_total 2$/m);
  assert.match(all, /^orchestrator_run_duration_seconds_count\{status="completed"\} 1$/m);
  assert.match(all, /^orchestrator_run_duration_seconds_sum\{status="completed"\} 1\.5$/m);
  assert.match(all, /^orchestrator_step_duration_seconds_count\{status="retrying"\} 2$/m);
  assert.match(all, /^orchestrator_step_duration_seconds_sum\{status="completed"\} 0\.5$/m);

  const onlyA = (await scrape(await t.token({ tenants: ['tenant-a'] }))).text;
  assert.match(onlyA, /tenant="tenant-a"/);
  assert.doesNotMatch(onlyA, /tenant-b/, 'a token for tenant-a never sees tenant-b');
  assert.match(onlyA, /^# TYPE orchestrator_runs_total counter$/m);
});

test('queue depth is read at scrape time, by tenant', async () => {
  const ops = t.server.deps.services.ops;
  ops.useQueues({
    depthByTenant: (tenants) =>
      [
        { tenant: 'qa', queued: 3, running: 1 },
        { tenant: 'qb', queued: 7, running: 0 },
      ].filter((q) => tenants === '*' || tenants.includes(q.tenant)),
  });
  try {
    const text = (await scrape()).text;
    assert.match(text, /^orchestrator_queue_depth\{tenant="qa"\} 3$/m);
    assert.match(text, /^orchestrator_queue_depth\{tenant="qb"\} 7$/m);
    const qa = (await scrape(await t.token({ tenants: ['qa'] }))).text;
    assert.match(qa, /^orchestrator_queue_depth\{tenant="qa"\} 3$/m);
    assert.doesNotMatch(qa, /qb/);
  } finally {
    const { storeQueueStats } = await import('../../src/ops/index.js');
    ops.useQueues(storeQueueStats(t.server.ports.ops));
  }
});

test('metrics need the admin scope', async () => {
  const read = await t.req('GET', '/admin/metrics', { token: await t.token({ scopes: ['orchestrator:read'] }), tenant: null });
  assert.equal(read.status, 403);
  assert.equal((await t.req('GET', '/admin/metrics', { token: null, tenant: null })).status, 401);
});

test('the output passes `promtool check metrics`', async (ctx) => {
  if (!haveTool(ctx, 'promtool', 'prometheus')) return;
  const text = (await scrape()).text;
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics failed:\n${r.stdout}${r.stderr}`);
});
