/**
 * docs/ops/: the Prometheus alert rules (promtool check + promtool unit tests), the Grafana
 * dashboard (valid PromQL, metrics that exist), the bounded `dag_id` label, and the static scrape
 * token of --metrics-token-file.
 */
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpsMetrics, OTHER_DAGS } from '../../src/ops/metrics.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { haveTool } from '../helpers/tools.js';
import { concrete } from '../hostile/support.js';
import { publish, startRun, waitForRun } from '../runs/helpers.js';

const OPS = join(import.meta.dirname, '..', '..', 'docs', 'ops');
const tmp = mkdtempSync(join(tmpdir(), 'orch-dash-'));
const scrapeToken = 'f'.repeat(24) + '0123456789abcdef';
let t: TestServer;

before(async () => {
  writeFileSync(join(tmp, 'metrics.token'), scrapeToken + '\n');
  t = await startTestServer(['--allow-unsigned', '--metrics-token-file', join(tmp, 'metrics.token'), '--metrics-dag-labels', '2']);
});
after(async () => {
  await t.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs promtool; skips the test when it is missing (a failure in CI, where .ci/run installs it). */
function promtool(ctx: TestContext, args: string[], cwd = OPS): ReturnType<typeof spawnSync> | undefined {
  if (!haveTool(ctx, 'promtool', 'prometheus')) return undefined;
  return spawnSync('promtool', args, { cwd, encoding: 'utf8' });
}

const dashboard = JSON.parse(readFileSync(join(OPS, 'grafana-dashboard.json'), 'utf8')) as {
  uid: string;
  panels: Array<{ id: number; type: string; title: string; gridPos: { x: number; w: number }; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ name: string; query?: unknown }> };
  annotations: { list: Array<{ expr?: string }> };
};
const dashboardExprs = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((x) => x.expr)),
  ...dashboard.annotations.list.flatMap((a) => (a.expr ? [a.expr] : [])),
];
const alertExprs = [...readFileSync(join(OPS, 'alerts.yml'), 'utf8').matchAll(/expr: (\|\n((?: {10}.*\n)+)|.*)/g)].map((m) => m[2] ?? m[1]!);

test('alerts.yml passes `promtool check rules`', (ctx) => {
  const r = promtool(ctx, ['check', 'rules', 'alerts.yml']);
  if (!r) return;
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(String(r.stdout), /SUCCESS: 10 rules found/);
});

test('alerts.yml passes its unit tests (`promtool test rules alerts.test.yml`)', (ctx) => {
  const r = promtool(ctx, ['test', 'rules', 'alerts.test.yml']);
  if (!r) return;
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  // Every alert has at least one test case.
  const tests = readFileSync(join(OPS, 'alerts.test.yml'), 'utf8');
  for (const [, name] of readFileSync(join(OPS, 'alerts.yml'), 'utf8').matchAll(/- alert: (\w+)/g)) {
    assert.match(tests, new RegExp(`alertname: ${name}\\n`), `alerts.test.yml tests ${name}`);
  }
});

test('the Grafana dashboard: well formed, every query valid PromQL', (ctx) => {
  assert.equal(dashboard.uid, 'stella-orchestrator');
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of dashboard.panels) {
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title}: inside the 24-column grid`);
    if (p.type !== 'row') assert.ok((p.targets ?? []).length > 0 && p.targets!.every((x) => x.expr.length > 0), `${p.title}: has queries`);
  }
  assert.deepEqual(dashboard.templating.list.map((v) => v.name), ['datasource', 'job', 'tenant']);
  // promtool checks PromQL through a rules file: one recording rule per query, variables filled in.
  const rules = dashboardExprs
    .map((e, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(e.replaceAll('$job', 'orchestrator').replaceAll('$tenant', '.*'))}\n`)
    .join('');
  const file = join(tmp, 'dashboard-rules.yml');
  writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules}`);
  const r = promtool(ctx, ['check', 'rules', file], tmp);
  if (!r) return;
  assert.equal(r.status, 0, `a dashboard query is not valid PromQL:\n${r.stdout}${r.stderr}`);
});

test('every metric the dashboard and the alerts use is one the server exports', async () => {
  const res = await t.req('GET', '/admin/metrics', { token: await t.token({ tenants: ['*'] }), tenant: null });
  assert.equal(res.status, 200);
  const families = new Map([...res.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const exported = (name: string): boolean => {
    if (families.has(name)) return true;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return base !== name && ['histogram', 'summary'].includes(families.get(base) ?? '');
  };
  const used = new Set([...[...dashboardExprs, ...alertExprs].join('\n').matchAll(/\b(?:orchestrator|process|nodejs)_[a-z0-9_]+/g)].map((m) => m[0]));
  assert.ok(used.size >= 10, `found the metric names (${[...used]})`);
  for (const name of used) assert.ok(exported(name), `${name} is used in docs/ops/ but the server does not export it`);
});

test('orchestrator_dag_runs_total names the failing DAG; dag_id is bounded per tenant (--metrics-dag-labels)', async () => {
  for (const dagId of ['one', 'two', 'three']) await publish(t, { dagId, steps: [{ id: 'x', plugin: 'fail' }] });
  await publish(t, { dagId: 'elsewhere', steps: [{ id: 'x', plugin: 'fail' }] }, 'b');
  // One at a time, so the order in which DAGs first end a run (and take a label) is known.
  for (const [dagId, tenant] of [['one', 'a'], ['two', 'a'], ['three', 'a'], ['elsewhere', 'b'], ['one', 'a']] as const) {
    const run = await startRun(t, dagId, { tenant });
    assert.equal((await waitForRun(t, run.runId, { tenant })).status, 'failed');
  }
  const res = await t.req('GET', '/admin/metrics', { token: await t.token({ tenants: ['*'] }), tenant: null });
  const m = res.text;
  assert.match(m, /^orchestrator_dag_runs_total\{tenant="a",dag_id="one",status="failed"\} 2$/m);
  assert.match(m, /^orchestrator_dag_runs_total\{tenant="a",dag_id="two",status="failed"\} 1$/m);
  assert.match(m, /^orchestrator_dag_runs_total\{tenant="a",dag_id="_other",status="failed"\} 1$/m, 'the third DAG of tenant a is past the bound of 2');
  assert.doesNotMatch(m, /dag_id="three"/);
  assert.match(m, /^orchestrator_dag_runs_total\{tenant="b",dag_id="elsewhere",status="failed"\} 1$/m, 'the bound is per tenant');
  const onlyB = await t.req('GET', '/admin/metrics', { token: await t.token({ tenants: ['b'] }), tenant: null });
  assert.doesNotMatch(onlyB.text, /dag_id="one"/, "a tenant's admin does not see another tenant's DAG ids");
});

test('the dag_id bound holds however many DAGs end runs (unit)', () => {
  const metrics = new OpsMetrics({ defaultMetrics: false, dagLabelsPerTenant: 5 });
  for (let i = 0; i < 1000; i++) {
    metrics.onEvents([{ type: 'run.failed', tenant: 't', dagId: `dag-${i}`, runId: `r${i}`, status: 'failed' }]);
  }
  return metrics.render('*').then((text) => {
    const labels = new Set([...text.matchAll(/dag_id="([^"]+)"/g)].map((x) => x[1]));
    assert.equal(labels.size, 6, `five DAG ids and ${OTHER_DAGS}: ${[...labels]}`);
    assert.match(text, new RegExp(`dag_id="${OTHER_DAGS}",status="failed"} 995`));
  });
});

test('--metrics-token-file: the static token scrapes every tenant, and opens nothing else', async () => {
  const bearer = { authorization: `Bearer ${scrapeToken}` };
  const res = await t.req('GET', '/admin/metrics', { token: null, tenant: null, headers: bearer });
  assert.equal(res.status, 200);
  assert.match(res.text, /tenant="a"/);
  assert.match(res.text, /tenant="b"/, 'a scraper sees every tenant');
  for (const wrong of [scrapeToken.slice(0, -1) + '1', scrapeToken + 'x', scrapeToken.slice(1), '']) {
    const r = await t.req('GET', '/admin/metrics', { token: null, tenant: null, headers: { authorization: `Bearer ${wrong}` } });
    assert.equal(r.status, 401, `a near miss is refused: ${wrong.length} chars`);
  }
  // The metrics route alone declares the scrape token; every other route of the table that takes a
  // token refuses it (optional-auth ones too: a token sent is checked).
  assert.deepEqual(t.server.routes.filter((r) => r.scrapeToken).map((r) => `${r.method} ${r.path}`), ['GET /admin/metrics']);
  const other = t.server.routes.filter((r) => r.scope !== null && !r.scrapeToken);
  assert.ok(other.length >= 20 && other.some((r) => r.path === '/admin/health'), `${other.length} routes walked`);
  for (const r of other) {
    const res = await t.req(r.method, concrete(r), { token: null, tenant: 'a', headers: bearer, body: r.method === 'GET' ? undefined : {} });
    assert.equal(res.status, 401, `${r.method} ${r.path} refuses the scrape token`);
  }
});
