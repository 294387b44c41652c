import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_STORE, startTestServer, FIXTURES } from '../helpers/server.js';
import { signDag } from '../../src/dags/signature.js';
import { isMutating } from '../../src/http/index.js';

const devKey = readFileSync(join(FIXTURES, 'keys', 'dev-signing.key'), 'utf8');
const doc = (v: string) => signDag({ dagId: 'idem', version: v, steps: [{ id: 'a', plugin: 'noop' }], edges: [] } as any, devKey);

test('--require-idempotency-key makes the header mandatory on every mutating route', async (t) => {
  const s = await startTestServer(['--require-idempotency-key']);
  t.after(() => s.stop());
  for (const r of s.server.routes.filter(isMutating)) {
    const path = r.path.replace(/\{[^}]+\}/g, 'x');
    const res = await s.req(r.method, path, { body: {} });
    assert.equal(res.status, 400, r.path);
    assert.equal(res.body.error.code, 'IDEMPOTENCY_KEY_REQUIRED', r.path);
  }
  const ok = await s.req('POST', '/dags', { body: doc('1.0.0'), headers: { 'idempotency-key': 'k' } });
  assert.equal(ok.status, 201);
});

test('keys are kept 24 h, then the same key is a new request', async (t) => {
  let now = Date.parse('2026-11-28T00:00:00.000Z');
  const s = await startTestServer([], {}, { now: () => now });
  t.after(() => s.stop());
  const h = { 'idempotency-key': 'daily' };
  assert.equal((await s.req('POST', '/dags', { body: doc('1.0.0'), headers: h })).status, 201);
  now += 23 * 3600 * 1000;
  const replay = await s.req('POST', '/dags', { body: doc('2.0.0'), headers: h });
  assert.equal(replay.status, 422, 'still remembered after 23 h');
  now += 2 * 3600 * 1000;
  const fresh = await s.req('POST', '/dags', { body: doc('2.0.0'), headers: h });
  assert.equal(fresh.status, 201, 'forgotten after 24 h');
  assert.equal(fresh.headers.get('idempotency-replayed'), null);
});

test('a failed request releases its key: the corrected retry is accepted', async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());
  const h = { 'idempotency-key': 'retry-me' };
  const bad = await s.req('POST', '/dags', { body: { ...doc('1.0.0'), metadata: { x: 1 } }, headers: h });
  assert.equal(bad.status, 422);
  const again = await s.req('POST', '/dags', { body: doc('1.0.0'), headers: h });
  assert.equal(again.status, 201);
});

test('POST /runs with Idempotency-Key: replay, another body (422), 8 concurrent duplicates make one run, /dags and /runs keys apart, other tenants apart', async (t) => {
  const s = await startTestServer(['--rate-limit', '1000']);
  t.after(() => s.stop());
  for (const tenant of ['a', 'b']) assert.equal((await s.req('POST', '/dags', { body: doc('1.0.0'), tenant })).status, 201);
  const h = { 'idempotency-key': 'start-1' };
  const first = await s.req('POST', '/runs', { body: { dagId: 'idem' }, headers: h });
  assert.equal(first.status, 201, first.text);
  assert.equal(first.headers.get('idempotency-replayed'), null);
  const replay = await s.req('POST', '/runs', { body: { dagId: 'idem' }, headers: h });
  assert.equal(replay.status, 201, 'the recorded status');
  assert.equal(replay.headers.get('idempotency-replayed'), 'true');
  assert.equal(replay.headers.get('location'), first.headers.get('location'));
  assert.deepEqual(replay.body, first.body, 'the recorded body (the run as it was when started)');

  // Same key, another body: the contract's 422, and no run is started.
  const other = await s.req('POST', '/runs', { body: { dagId: 'idem', inputs: { x: 1 } }, headers: h });
  assert.equal(other.status, 422);
  assert.equal(other.body.error.code, 'IDEMPOTENCY_KEY_REUSED');

  // Eight concurrent duplicates: exactly one run; every answer is that run (first or replay)
  // or 409 IDEMPOTENCY_IN_FLIGHT with Retry-After.
  const dup = { 'idempotency-key': 'start-dup' };
  const answers = await Promise.all(Array.from({ length: 8 }, () => s.req('POST', '/runs', { body: { dagId: 'idem' }, headers: dup })));
  const runIds = new Set(answers.filter((r) => r.status === 201).map((r) => r.body.runId));
  assert.equal(runIds.size, 1, `one run for eight duplicates: ${answers.map((r) => r.status)}`);
  for (const r of answers) {
    if (r.status === 409) {
      assert.equal(r.body.error.code, 'IDEMPOTENCY_IN_FLIGHT');
      assert.equal(r.headers.get('retry-after'), '1');
    } else assert.equal(r.status, 201, r.text);
  }
  assert.equal(answers.filter((r) => r.status === 201 && r.headers.get('idempotency-replayed') === null).length, 1, 'one fresh answer');
  const listed = (await s.req('GET', '/runs?dagId=idem&page_size=500')).body.items.map((r: { runId: string }) => r.runId);
  assert.equal(listed.length, 2, 'start-1 and start-dup: two runs in all');
  assert.ok(listed.includes([...runIds][0]));

  // The same key on /dags and on /runs: two keys (scoped by path).
  const shared = { 'idempotency-key': 'shared-key' };
  const dag = await s.req('POST', '/dags', { body: doc('2.0.0'), headers: shared });
  assert.equal(dag.status, 201);
  const run = await s.req('POST', '/runs', { body: { dagId: 'idem', version: '2.0.0' }, headers: shared });
  assert.equal(run.status, 201, run.text);
  assert.equal(run.headers.get('idempotency-replayed'), null, 'not the /dags answer');
  assert.equal(run.body.dagVersion, '2.0.0');

  // Another tenant, same key and body: its own run, nothing of tenant a's answer.
  const theirs = await s.req('POST', '/runs', { body: { dagId: 'idem' }, headers: h, tenant: 'b' });
  assert.equal(theirs.status, 201, theirs.text);
  assert.equal(theirs.headers.get('idempotency-replayed'), null);
  assert.notEqual(theirs.body.runId, first.body.runId);
  assert.equal(theirs.body.tenant, 'b');
  assert.notEqual(theirs.headers.get('location'), first.headers.get('location'));
  const stored = await s.req('GET', `/runs/${theirs.body.runId}`, { tenant: 'b' });
  assert.equal(stored.status, 200);
  assert.equal(stored.body.tenant, 'b');
  assert.equal((await s.req('GET', `/runs/${first.body.runId}`, { tenant: 'b' })).status, 404);
});

test('a request whose transaction fails at COMMIT releases its key: the retry is a fresh request, not 409 for 24 h', { skip: TEST_STORE === 'postgres' && 'the COMMIT failure is made with a SQLite trigger (deferred foreign key)' }, async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());
  // A real COMMIT failure (as SQLITE_FULL is in WAL mode, where pages reach the disk at COMMIT):
  // a deferred foreign key that only COMMIT checks, broken by every new DAG version.
  const db = s.server.store!.db.sqlite;
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  db.exec(`create table commit_parent (id text primary key);
           create table commit_fails (x text references commit_parent(id) deferrable initially deferred);
           create trigger commit_fails_on_publish after insert on dag_versions begin insert into commit_fails values ('none'); end;`);
  const h = { 'idempotency-key': 'commit-fails' };
  const failed = await s.req('POST', '/dags', { body: doc('1.0.0'), headers: h });
  assert.equal(failed.status, 500, failed.text);
  assert.equal(failed.body.error.code, 'INTERNAL');
  db.exec('drop trigger commit_fails_on_publish; drop table commit_fails; drop table commit_parent;');
  const again = await s.req('POST', '/dags', { body: doc('1.0.0'), headers: h });
  assert.equal(again.status, 201, again.text);
  assert.equal(again.headers.get('idempotency-replayed'), null);
});

test('every mutating route records its 2xx answer under the key and replays it: same status and body, Idempotency-Replayed', async (t) => {
  const backups = mkdtempSync(join(tmpdir(), 'orch-idem-backups-'));
  const s = await startTestServer(['--rate-limit', '1000', '--backup-dir', backups]);
  t.after(async () => {
    await s.stop();
    rmSync(backups, { recursive: true, force: true });
  });
  const sched = { scheduleId: 'walk', dagId: 'idem', cron: '30 2 * * *' };
  let runId = '';
  // One request that succeeds per mutating route, in an order that gives each what it needs.
  const requests: Record<string, { method: string; path: () => string; body?: unknown }> = {
    publishDag: { method: 'POST', path: () => '/dags', body: doc('1.0.0') },
    startRun: { method: 'POST', path: () => '/runs', body: { dagId: 'idem' } },
    cancelRun: { method: 'POST', path: () => `/runs/${runId}:cancel`, body: { reason: 'walk' } },
    createSchedule: { method: 'POST', path: () => '/schedules', body: sched },
    replaceSchedule: { method: 'PUT', path: () => '/schedules/walk', body: { ...sched, cron: '0 3 * * *' } },
    pauseSchedule: { method: 'POST', path: () => '/schedules/walk:pause', body: {} },
    resumeSchedule: { method: 'POST', path: () => '/schedules/walk:resume', body: {} },
    triggerSchedule: { method: 'POST', path: () => '/schedules/walk:trigger', body: {} },
    deleteSchedule: { method: 'DELETE', path: () => '/schedules/walk' },
    disableDag: { method: 'POST', path: () => '/dags/idem/1.0.0:disable', body: { reason: 'walk' } },
    putRetention: { method: 'PUT', path: () => '/admin/retention', body: { maxAgeDays: 90, keepLast: 20 } },
    applyRetention: { method: 'POST', path: () => '/admin/retention:apply', body: {} },
    backup: { method: 'POST', path: () => '/admin/backup', body: {} },
    warm: { method: 'POST', path: () => '/admin/warm', body: {} },
  };
  const token = await s.token({ tenants: ['*'] }); // a backup holds every tenant's data
  const mutating = s.server.routes.filter(isMutating);
  for (const r of mutating) assert.equal(requests[r.operationId]?.method, r.method, `${r.method} ${r.path}: a request for it here`);
  assert.equal(Object.keys(requests).length, mutating.length, 'no request here for a route that is gone');
  for (const [op, q] of Object.entries(requests)) {
    const h = { 'idempotency-key': `walk-${op}` };
    const first = await s.req(q.method, q.path(), { body: q.body, headers: h, token });
    if (op === 'backup' && TEST_STORE === 'postgres') {
      // PostgreSQL is backed up with pg_dump or pg_basebackup: the refusal says so, and an error is never recorded.
      assert.equal(first.status, 400, first.text);
      assert.match(first.body.error.message, /pg_dump/);
      assert.equal((await s.req(q.method, q.path(), { body: q.body, headers: h, token })).headers.get('idempotency-replayed'), null);
      continue;
    }
    assert.ok(first.status >= 200 && first.status < 300, `${op}: ${first.status} ${first.text}`);
    assert.equal(first.headers.get('idempotency-replayed'), null, `${op}: the first answer is fresh`);
    if (op === 'startRun') runId = first.body.runId;
    const replay = await s.req(q.method, q.path(), { body: q.body, headers: h, token });
    assert.equal(replay.status, first.status, `${op}: the recorded status`);
    assert.equal(replay.headers.get('idempotency-replayed'), 'true', `${op}: replayed`);
    assert.deepEqual(replay.body, first.body, `${op}: the recorded body`);
  }
});
