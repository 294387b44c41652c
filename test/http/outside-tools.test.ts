/**
 * Outside tools, which nobody here wrote, agree that the server keeps its own OpenAPI document:
 *
 * - `@redocly/cli lint` (recommended rules) on the document the server serves: no error, and
 *   only the warnings docs/API.md justifies.
 * - `@stoplight/prism-cli` as a validating proxy (`prism proxy --errors`) in front of the server:
 *   the route-table walk (401, 403 on every operation) and a flow that calls every operation,
 *   successes and error answers, with no request or response violation.
 *
 * Both run offline: redocly with its telemetry off (REDOCLY_TELEMETRY=off; without it, it looks
 * up a host name), prism only between 127.0.0.1 ports.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signDag } from '../../src/dags/signature.js';
import type { RouteDef } from '../../src/http/index.js';
import { BASE, FIXTURES, startTestServer, type TestServer, TEST_STORE } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { concrete, jsonOf, SAMPLE, takesBody } from '../hostile/support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const OFFLINE_ENV = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_UPDATE_NOTIFIER: '1' };
const devKey = readFileSync(join(FIXTURES, 'keys', 'dev-signing.key'), 'utf8');

/** Warnings of the recommended rules that docs/API.md justifies: rule → JSON pointer. */
const JUSTIFIED_WARNINGS = [
  ['info-license', '#/info'],
  ['operation-4xx-response', '#/paths/~1openapi.json/get/responses'],
];

let t: TestServer;
let dir: string;
let docFile: string;
let doc: any;
let prism: ChildProcess | undefined;
let proxy = '';
let prismLog = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orch-outside-'));
  t = await startTestServer(['--backup-dir', join(dir, 'backups')]); // signatures required: the document says so, and the flow signs
  const res = await fetch(`${t.url}${BASE}/openapi.json`);
  assert.equal(res.status, 200);
  doc = await res.json();
  docFile = join(dir, 'openapi.json');
  writeFileSync(docFile, JSON.stringify(doc, null, 2));
});

after(async () => {
  prism?.kill('SIGTERM');
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('@redocly/cli lint (recommended rules) of the served document: no error, only the justified warnings', () => {
  const r = spawnSync(join(BIN, 'redocly'), ['lint', docFile, '--format=json'], { env: OFFLINE_ENV, encoding: 'utf8', timeout: 120_000 });
  assert.ok(r.stdout.trim().startsWith('{'), `redocly printed no report (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(r.stdout) as { totals: { errors: number }; problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }> };
  const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
  assert.equal(report.totals.errors, 0, problems.join('\n'));
  assert.equal(r.status, 0, problems.join('\n'));
  const warnings = report.problems.map((p) => [p.ruleId, p.location[0]?.pointer]);
  assert.deepEqual(warnings.sort(), [...JUSTIFIED_WARNINGS].sort(), `warnings other than the justified ones:\n${problems.join('\n')}`);
});

/** An answer through the proxy; fails on any violation prism reports. */
async function via(method: string, path: string, opts: { token?: string | null; tenant?: string | null; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? await t.token({ tenants: ['a'] }) : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (opts.tenant !== null) headers['x-stella-tenant'] = opts.tenant ?? 'a';
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(proxy + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  const what = `${method} ${path} → ${res.status}`;
  assert.equal(res.headers.get('sl-violations'), null, `${what}: prism reports violations: ${res.headers.get('sl-violations')}\n${text.slice(0, 2000)}`);
  assert.doesNotMatch(res.headers.get('content-type') ?? '', /problem\+json/, `${what}: prism refused it:\n${text.slice(0, 2000)}`);
  return { status: res.status, headers: res.headers, text, body: jsonOf(text) };
}


/** A request body the document accepts: the first example of the operation's request schema. */
function exampleBody(r: RouteDef): unknown {
  if (!takesBody(r.method)) return undefined;
  const ref = doc.paths[r.path][r.method.toLowerCase()].requestBody?.content['application/json'].schema;
  const name = String(ref?.$ref ?? ref?.allOf?.[0]?.$ref ?? '').split('/').pop()!;
  return doc.components.schemas[name]?.examples?.[0] ?? {};
}

test('prism proxy --errors in front of the server: the route-table walk and a flow through every operation, no violation', { timeout: 600_000 }, async () => {
  const port = await freePort();
  prism = spawn(join(BIN, 'prism'), ['proxy', docFile, `${t.url}${BASE}`, '--errors', '--host', '127.0.0.1', '--port', String(port)], { env: OFFLINE_ENV });
  prism.stdout!.on('data', (c) => (prismLog += c));
  prism.stderr!.on('data', (c) => (prismLog += c));
  await until(() => prismLog.includes('Prism is listening'), 'prism started', 180_000, 100).catch((e: Error) => {
    throw new Error(`${e.message}\n${prismLog}`);
  });
  proxy = `http://127.0.0.1:${port}`;
  const routes = t.server.routes;
  const called = new Set<string>();

  // The route-table walk: every authenticated operation refuses a bad token, a token without
  // its scope, and a tenant the token does not allow, in documented answers.
  const none = await t.token({ scopes: [] });
  for (const r of routes) {
    const body = exampleBody(r);
    if (r.scope === null || r.authOptional) continue;
    const bad = await via(r.method, concrete(r), { token: 'not.a.jwt', body });
    assert.equal(bad.status, 401, `${r.method} ${r.path}: ${bad.text}`);
    const scopeless = await via(r.method, concrete(r), { token: none, body });
    assert.equal(scopeless.status, 403, `${r.method} ${r.path}: ${scopeless.text}`);
    if (r.tenant) {
      const other = await via(r.method, concrete(r), { tenant: 'b', body });
      assert.equal(other.body?.error?.code, 'TENANT_FORBIDDEN', `${r.method} ${r.path}: ${other.text}`);
    }
  }

  // The flow: every operation answered with success, and the error answers a client meets.
  const ok = (op: string, r: { status: number; text: string }, status: number) => {
    assert.equal(r.status, status, `${op}: ${r.text.slice(0, 500)}`);
    if (status < 300) called.add(op);
  };
  ok('openApi', await via('GET', '/openapi.json', { token: null, tenant: null }), 200);
  ok('health', await via('GET', '/admin/health', { token: null, tenant: null }), 200);
  ok('health', await via('GET', '/admin/health', { tenant: null }), 200);
  ok('metrics', await via('GET', '/admin/metrics', { tenant: null }), 200);
  ok('warm', await via('POST', '/admin/warm', { tenant: null, body: {} }), 200);

  const flow = signDag({
    dagId: 'flow', version: '1.0.0', metadata: { description: 'through prism' },
    inputsSchema: { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false },
    steps: [{ id: 'write', plugin: 'artifact', with: { content: 'hello' } }, { id: 'say', plugin: 'echo', with: { n: '${{ inputs.n }}' } }],
    edges: [{ from: 'write', to: 'say' }],
  } as any, devKey);
  ok('publishDag', await via('POST', '/dags', { body: flow, headers: { 'idempotency-key': 'publish-flow' } }), 201);
  const replay = await via('POST', '/dags', { body: flow, headers: { 'idempotency-key': 'publish-flow' } });
  ok('publishDag', replay, 201);
  assert.equal(replay.headers.get('idempotency-replayed'), 'true');
  ok('publishDag', await via('POST', '/dags', { body: flow }), 200);
  ok('publishDag', await via('POST', '/dags', { body: signDag({ ...flow, signature: undefined, metadata: { description: 'other' } } as any, devKey) }), 409);
  const cyclic = signDag({ dagId: 'cyclic', version: '1.0.0', steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'noop' }], edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }] } as any, devKey);
  ok('publishDag', await via('POST', '/dags', { body: cyclic }), 422);
  ok('publishDag', await via('POST', '/dags', { body: { ...flow, version: '2.0.0' } }), 422); // signature of another document
  ok('publishDag', await via('POST', '/dags', { body: flow, token: await t.token({ scopes: ['orchestrator:write'] }) }), 403);
  ok('listDags', await via('GET', '/dags?dagId=flow&active=true&page_size=1'), 200);
  ok('listDags', await via('GET', '/dags?page_token=abc.def'), 400);
  ok('exportDags', await via('GET', '/dags:export'), 200);
  ok('getDag', await via('GET', '/dags/flow/1.0.0'), 200);
  ok('getDag', await via('GET', '/dags/flow/9.9.9'), 404);

  const started = await via('POST', '/runs', { body: { dagId: 'flow', inputs: { n: 1 }, runToken: 'flow-1' }, headers: { 'idempotency-key': 'run-flow-1' } });
  ok('startRun', started, 201);
  assert.match(started.headers.get('x-ratelimit-remaining') ?? '', /^\d+$/);
  ok('startRun', await via('POST', '/runs', { body: { dagId: 'flow', inputs: { n: 1 }, runToken: 'flow-1' } }), 200);
  ok('startRun', await via('POST', '/runs', { body: { dagId: 'flow', inputs: { n: 2 }, runToken: 'flow-1' } }), 409);
  ok('startRun', await via('POST', '/runs', { body: { dagId: 'flow', inputs: { n: 'x' } } }), 422);
  ok('startRun', await via('POST', '/runs', { body: { dagId: 'flow' }, headers: { 'idempotency-key': 'run-flow-1' } }), 422);
  ok('startRun', await via('POST', '/runs', { body: { dagId: 'nope' } }), 404);
  const runId = started.body.runId as string;
  let run: any;
  await until(async () => ['completed', 'failed'].includes((run = (await via('GET', `/runs/${runId}`)).body).status), 'the flow run ended', 60_000, 50);
  called.add('getRun');
  assert.equal(run.status, 'completed', JSON.stringify(run));
  ok('listRuns', await via('GET', `/runs?dagId=flow&status=completed&from=2000-01-01T00:00:00.000Z&page_size=1`), 200);
  ok('exportRuns', await via('GET', '/runs:export?dagId=flow'), 200);
  ok('getRun', await via('GET', `/runs/${SAMPLE.runId}`), 404);
  ok('listRunSteps', await via('GET', `/runs/${runId}/steps?page_size=1`), 200);
  ok('getRunStep', await via('GET', `/runs/${runId}/steps/say`), 200);
  ok('getRunStep', await via('GET', `/runs/${runId}/steps/nope`), 404);
  ok('cancelRun', await via('POST', `/runs/${runId}:cancel`, { body: { reason: 'done already' } }), 200);
  const hash = run.steps.find((s: any) => s.stepId === 'write').outputs.hash as string;
  const art = await via('GET', `/artifacts/${hash}`);
  ok('getArtifact', art, 200);
  assert.equal(art.text, 'hello');
  ok('getArtifact', await via('GET', `/artifacts/sha256:${hash}`, { headers: { 'if-none-match': `"${hash}"` } }), 304);
  ok('getArtifact', await via('GET', `/artifacts/${SAMPLE.hash}`), 404);
  ok('exportEvents', await via('GET', '/events:export?since=0'), 200);
  // The stream ends when its token expires, so that the proxy sees a whole answer.
  const stream = await via('GET', '/runs/stream?since=0&dagId=flow', { token: await t.token({ ttlSec: 2 }), headers: { accept: 'application/x-ndjson' } });
  ok('streamRunEvents', stream, 200);
  assert.match(stream.text, /"type":"run.completed"/);

  ok('listRunArtifacts', await via('GET', `/runs/${runId}/artifacts?page_size=1`), 200);
  ok('listRunArtifacts', await via('GET', `/runs/${SAMPLE.runId}/artifacts`), 404);

  const nightly = { scheduleId: 'flow-nightly', dagId: 'flow', inputs: { n: 3 }, cron: '30 2 * * *', timezone: 'Europe/Berlin' };
  ok('createSchedule', await via('POST', '/schedules', { body: nightly, headers: { 'idempotency-key': 'schedule-flow' } }), 201);
  ok('createSchedule', await via('POST', '/schedules', { body: nightly }), 200);
  ok('createSchedule', await via('POST', '/schedules', { body: { ...nightly, cron: '0 3 * * *' } }), 409);
  ok('createSchedule', await via('POST', '/schedules', { body: { ...nightly, scheduleId: 'bad-cron', cron: '61 * * * *' } }), 400);
  ok('createSchedule', await via('POST', '/schedules', { body: { ...nightly, scheduleId: 'no-dag', dagId: 'nope' } }), 422);
  ok('listSchedules', await via('GET', '/schedules?dagId=flow&paused=false&page_size=1'), 200);
  ok('getSchedule', await via('GET', '/schedules/flow-nightly'), 200);
  ok('getSchedule', await via('GET', '/schedules/nope'), 404);
  ok('replaceSchedule', await via('PUT', '/schedules/flow-nightly', { body: { dagId: 'flow', inputs: { n: 4 }, cron: '0 3 * * *', timezone: 'UTC' } }), 200);
  ok('pauseSchedule', await via('POST', '/schedules/flow-nightly:pause', { body: {} }), 200);
  ok('resumeSchedule', await via('POST', '/schedules/flow-nightly:resume', { body: {} }), 200);
  ok('triggerSchedule', await via('POST', '/schedules/flow-nightly:trigger', { body: {} }), 201);
  ok('exportSchedules', await via('GET', '/schedules:export'), 200);
  ok('deleteSchedule', await via('DELETE', '/schedules/flow-nightly'), 204);
  ok('deleteSchedule', await via('DELETE', '/schedules/flow-nightly'), 404);

  ok('getRetention', await via('GET', '/admin/retention'), 200);
  ok('putRetention', await via('PUT', '/admin/retention', { body: { maxAgeDays: 90, keepLast: 20 } }), 200);
  ok('applyRetention', await via('POST', '/admin/retention:apply', { tenant: null, body: {} }), 200);
  // PostgreSQL is backed up with its own tools: the route answers its refusal in the envelope.
  ok('backup', await via('POST', '/admin/backup', { tenant: null, token: await t.token({ tenants: ['*'] }), body: {} }), TEST_STORE === 'postgres' ? 400 : 200);
  ok('backup', await via('POST', '/admin/backup', { tenant: null, body: {} }), 403);

  ok('disableDag', await via('POST', '/dags/flow/1.0.0:disable', { body: {} }), 200);
  ok('startRun', await via('POST', '/runs', { body: { dagId: 'flow', version: '1.0.0' } }), 422);
  ok('disableDag', await via('POST', '/dags/flow/9.9.9:disable', { body: {} }), 404);

  const refused = TEST_STORE === 'postgres' ? ['backup'] : []; // answered with its refusal above
  assert.deepEqual([...called].sort(), routes.map((r) => r.operationId).filter((op) => !refused.includes(op)).sort(), 'the flow calls every operation with success');
  assert.doesNotMatch(prismLog, /violation/i, prismLog.slice(-3000));
  console.log(`prism: ${called.size} operations, every answer without a violation`);
});
