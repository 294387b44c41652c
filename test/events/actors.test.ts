/**
 * The actor on every mutating event (docs/API.md "Actors"): each mutating route of the route
 * table is driven with a token whose `sub` is known, and the events it caused must carry that
 * `sub` as `actor` (a route added without a case here fails the walk). The actor is inside the
 * hash chain (`events verify` refuses an export whose actor was edited), in the run and DAG
 * views (`createdBy`, `cancelledBy`, `cancelReason`, `disabledBy`) and in the request log.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintToken } from '../../src/auth/index.js';
import { ndjsonText, parseNdjsonExport } from '../../src/core/index.js';
import { verifyEventChain } from '../../src/events/index.js';
import { routeTable } from '../../src/http/routes/index.js';
import { isMutating } from '../../src/http/route.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { captureLogger } from '../helpers/log-capture.js';
import { PROGRAM_ARGS } from '../helpers/program.js';
import { waitForRun } from '../runs/helpers.js';
import { openNdjson } from './stream-client.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SUB = 'alice@example.org';
const { logger, lines } = captureLogger();
const dir = mkdtempSync(join(tmpdir(), 'orch-actors-'));
let t: TestServer;
let alice: string;

before(async () => {
  t = await startTestServer(['--allow-unsigned'], {}, undefined, undefined, logger);
  const keys = t.server.devKeys!;
  alice = await mintToken({
    privateKeyPem: keys.privateKeyPem, kid: keys.kid, tenants: ['a'], scopes: ['orchestrator:admin'], ttlSec: 600,
    issuer: keys.issuer, audience: keys.audience, subject: SUB,
  });
});
after(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

const as = (method: string, path: string, body?: unknown) => t.req(method, path, { token: alice, body });

async function headSeq(): Promise<number> {
  const all = parseNdjsonExport((await t.req('GET', '/events:export')).text) as any[];
  return all.length ? all[all.length - 1].seq : 0;
}

async function eventsSince(seq: number): Promise<any[]> {
  const r = await t.req('GET', `/events:export?since=${seq}`);
  assert.equal(r.status, 200);
  return parseNdjsonExport(r.text) as any[];
}

const DAG = { dagId: 'audited', version: '1.0.0', steps: [{ id: 'nap', plugin: 'sleep', with: { ms: 60_000 } }] };
const PRUNED = { dagId: 'pruned', version: '1.0.0', steps: [{ id: 'nap', plugin: 'sleep', with: { ms: 1 } }] };
const SCHEDULE = { scheduleId: 'audited-nightly', dagId: 'audited', cron: '30 2 * * *' };
const ids: { runId?: string } = {};

/**
 * One case per mutating route: the request (made with alice's token) and the event types it
 * must cause, each carrying `actor: SUB`.
 */
/**
 * Per mutating route: the request, the events it causes, and (`status`) the status its event of a
 * type has when the run's own events may commit meanwhile (PostgreSQL's group commit is in flight
 * while the request runs: the run's `running` update may land after the request began).
 */
const CASES: Record<string, { run(): Promise<{ status: number; body: any }>; types: string[]; status?: Record<string, string[]> }> = {
  'POST /dags': { run: () => as('POST', '/dags', DAG), types: ['dag.published'] },
  'POST /dags/{dagId}/{version}:disable': {
    async run() {
      assert.equal((await as('POST', '/dags', { ...DAG, version: '0.9.0' })).status, 201);
      return as('POST', '/dags/audited/0.9.0:disable', {});
    },
    types: ['dag.published', 'dag.disabled'],
  },
  'POST /runs': {
    async run() {
      const r = await as('POST', '/runs', { dagId: 'audited' });
      ids.runId = r.body.runId;
      return r;
    },
    types: ['run.started'],
  },
  'POST /runs/{runId}:cancel': { run: () => as('POST', `/runs/${ids.runId}:cancel`, { reason: 'wrong inputs' }), types: ['run.updated'], status: { 'run.updated': ['cancelling', 'cancelled'] } },
  'POST /schedules': { run: () => as('POST', '/schedules', SCHEDULE), types: ['schedule.created'] },
  'PUT /schedules/{scheduleId}': { run: () => as('PUT', '/schedules/audited-nightly', { ...SCHEDULE, cron: '45 2 * * *' }), types: ['schedule.replaced'] },
  'POST /schedules/{scheduleId}:pause': { run: () => as('POST', '/schedules/audited-nightly:pause'), types: ['schedule.paused'] },
  'POST /schedules/{scheduleId}:resume': { run: () => as('POST', '/schedules/audited-nightly:resume'), types: ['schedule.resumed'] },
  'POST /schedules/{scheduleId}:trigger': { run: () => as('POST', '/schedules/audited-nightly:trigger'), types: ['run.started', 'schedule.fired'] },
  'DELETE /schedules/{scheduleId}': { run: () => as('DELETE', '/schedules/audited-nightly'), types: ['schedule.deleted'] },
  'PUT /admin/retention': { run: () => as('PUT', '/admin/retention', { maxAgeDays: 3650, keepLast: null }), types: ['retention.changed'] },
  'POST /admin/retention:apply': {
    async run() {
      // Two ended runs of a DAG of their own; keeping the newest one per DAG prunes the older.
      // (The audited DAG's ended run is the newest of its DAG, so the later tests still see it.)
      assert.equal((await as('POST', '/dags', PRUNED)).status, 201);
      for (let i = 0; i < 2; i++) await waitForRun(t, (await as('POST', '/runs', { dagId: PRUNED.dagId })).body.runId);
      assert.equal((await as('PUT', '/admin/retention', { maxAgeDays: null, keepLast: 1 })).status, 200);
      const r = await as('POST', '/admin/retention:apply', {});
      assert.equal(r.body.tenants.find((x: any) => x.tenant === 'a')?.runs, 1, JSON.stringify(r.body));
      return r;
    },
    types: ['retention.applied'],
  },
};

/** Mutating routes that change no tenant's data (so no tenant's event log): the request log names their caller. */
const INSTALLATION_ACTIONS = new Set(['POST /admin/warm', 'POST /admin/backup']);

test('every mutating route records the token\'s sub as the actor of each event it causes, in the log and on the live stream', async () => {
  const mutating = routeTable().filter(isMutating).map((r) => `${r.method} ${r.path}`);
  const uncovered = mutating.filter((k) => !(k in CASES) && !INSTALLATION_ACTIONS.has(k));
  assert.deepEqual(uncovered, [], 'a mutating route without an actor case');
  // Every case and every exempt action is a mutating route: none is skipped without a word.
  assert.deepEqual([...Object.keys(CASES), ...INSTALLATION_ACTIONS].filter((k) => !mutating.includes(k)), [], 'a case that is no mutating route');
  const live = await openNdjson(t);
  try {
    for (const key of mutating.filter((k) => k in CASES)) {
      const c = CASES[key]!;
      const before = await headSeq();
      const r = await c.run();
      assert.ok(r.status < 300, `${key}: ${r.status} ${JSON.stringify(r.body)}`);
      const caused = (await eventsSince(before)).filter((e) => e.stepId === undefined);
      for (const type of c.types) {
        const e = caused.find((x) => x.type === type && (c.status?.[type]?.includes(x.status) ?? true));
        assert.ok(e, `${key}: no ${type} event among ${caused.map((x) => x.type).join(', ')}`);
        assert.equal(e.actor, SUB, `${key}: ${type} actor`);
        // The stream shows the same committed event, actor included (docs/API.md "Actors").
        const streamed = (await live.until((evs) => evs.some((x) => x.seq === e.seq))).find((x) => x.seq === e.seq);
        assert.deepEqual([streamed.type, streamed.actor], [type, SUB], `${key}: ${type} on the live stream`);
      }
    }
  } finally {
    live.close();
  }
});

test('retention events say what changed and what was pruned; a PUT that changes nothing and a pass that prunes nothing write none', async () => {
  const retention = (evs: any[]) => evs.filter((e) => e.type.startsWith('retention.'));
  const all = retention(await eventsSince(0));
  const changed = all.filter((e) => e.type === 'retention.changed').at(-1);
  assert.deepEqual([changed.status, changed.keepLast, 'maxAgeDays' in changed, changed.dagId, changed.actor], ['enabled', 1, false, '', SUB]);
  const applied = all.find((e) => e.type === 'retention.applied');
  assert.deepEqual([applied.status, applied.pruned.runs, applied.runId, applied.actor], ['applied', 1, undefined, SUB]);
  assert.ok(applied.pruned.steps >= 1 && applied.pruned.events >= 1, JSON.stringify(applied.pruned));
  const before = await headSeq();
  assert.equal((await as('PUT', '/admin/retention', { maxAgeDays: null, keepLast: 1 })).status, 200);
  const again = await as('POST', '/admin/retention:apply', {});
  assert.equal(again.body.tenants.find((x: any) => x.tenant === 'a')?.runs, 0);
  assert.deepEqual(retention(await eventsSince(before)), [], 'nothing changed, nothing pruned: no event');
  const live = await openNdjson(t);
  try {
    assert.equal((await as('PUT', '/admin/retention', { maxAgeDays: null, keepLast: null })).status, 200);
    await live.until((evs) => evs.some((e) => e.type === 'retention.changed' && e.status === 'disabled'));
  } finally {
    live.close();
  }
  const off = retention(await eventsSince(before));
  assert.deepEqual(off.map((e) => [e.type, e.status, 'keepLast' in e, e.actor]), [['retention.changed', 'disabled', false, SUB]]);
});

test('a schedule\'s view names who created it and who made its last change', async () => {
  const keys = t.server.devKeys!;
  const bob = await mintToken({
    privateKeyPem: keys.privateKeyPem, kid: keys.kid, tenants: ['a'], scopes: ['orchestrator:admin'], ttlSec: 600,
    issuer: keys.issuer, audience: keys.audience, subject: 'bob@example.org',
  });
  const doc = { scheduleId: 'viewed', dagId: 'audited', cron: '0 4 * * *' };
  const by = (s: any) => [s.createdBy, s.updatedBy];
  const created = await as('POST', '/schedules', doc);
  assert.equal(created.status, 201);
  assert.deepEqual(by(created.body), [SUB, SUB]);
  const paused = await t.req('POST', '/schedules/viewed:pause', { token: bob });
  assert.deepEqual(by(paused.body), [SUB, 'bob@example.org']);
  assert.notEqual(paused.body.updatedUtc, undefined);
  // Pausing a paused schedule changes nothing: the last change is still bob's.
  assert.deepEqual(by((await as('POST', '/schedules/viewed:pause')).body), [SUB, 'bob@example.org']);
  assert.deepEqual(by((await t.req('GET', '/schedules?dagId=audited')).body.items.find((s: any) => s.scheduleId === 'viewed')), [SUB, 'bob@example.org']);
  assert.deepEqual(by((await as('PUT', '/schedules/viewed', { ...doc, cron: '0 5 * * *', paused: true })).body), [SUB, SUB]);
  assert.deepEqual(by((await t.req('GET', '/schedules/viewed')).body), [SUB, SUB]);
  assert.equal((await as('DELETE', '/schedules/viewed')).status, 204);
});

test('views show who published, disabled, started and cancelled, and why; the cancel events carry the reason', async () => {
  const v1 = await t.req('GET', '/dags/audited/1.0.0');
  assert.equal(v1.body.createdBy, SUB);
  assert.equal(v1.body.disabledBy, null);
  const v09 = await t.req('GET', '/dags/audited/0.9.0');
  assert.equal(v09.body.disabledBy, SUB);
  const run = await waitForRun(t, ids.runId!);
  assert.equal(run.status, 'cancelled');
  assert.equal(run.createdBy, SUB);
  assert.equal(run.cancelledBy, SUB);
  assert.equal(run.cancelReason, 'wrong inputs');
  const listed = (await t.req('GET', '/runs?dagId=audited')).body.items.find((x: any) => x.runId === ids.runId);
  assert.equal(listed.cancelledBy, SUB);
  const exported = (parseNdjsonExport((await t.req('GET', '/runs:export?dagId=audited')).text) as any[]).find((x) => x.runId === ids.runId);
  assert.deepEqual([exported.createdBy, exported.cancelledBy, exported.cancelReason], [SUB, SUB, 'wrong inputs']);
  const evs = (await eventsSince(0)).filter((e) => e.runId === ids.runId && e.stepId === undefined);
  const cancelled = evs.find((e) => e.type === 'run.cancelled');
  assert.equal(cancelled.actor, SUB);
  assert.equal(cancelled.cancelReason, 'wrong inputs');
  // A run started by the server's own schedule fire would say schedule:<id>; one started through
  // :trigger says who triggered it.
  const triggered = (await t.req('GET', '/runs?scheduleId=audited-nightly')).body.items;
  assert.equal(triggered.length, 1);
  assert.equal(triggered[0].createdBy, SUB);
});

test('events verify refuses an export whose actor was edited (the actor is inside the hash chain)', async () => {
  const text = (await t.req('GET', '/events:export')).text;
  const records = parseNdjsonExport(text) as any[];
  assert.equal(verifyEventChain(records).ok, true);
  const i = records.findIndex((r) => r.actor === SUB);
  assert.ok(i >= 0);
  const edited = records.map((r, k) => (k === i ? { ...r, actor: 'mallory' } : r));
  const file = join(dir, 'edited.ndjson');
  writeFileSync(file, await ndjsonText(edited));
  const run = promisify(execFile);
  const out = await run(process.execPath, [...PROGRAM_ARGS, 'events', 'verify', file], { cwd: ROOT }).then(
    (r) => ({ code: 0, out: JSON.parse(r.stdout) }),
    (e) => ({ code: e.code as number, out: JSON.parse(e.stdout) }),
  );
  assert.equal(out.code, 1);
  assert.equal(out.out.problems[0].seq, records[i].seq);
  // Removing the actor breaks it as well.
  const { actor: _gone, ...stripped } = records[i];
  assert.equal(verifyEventChain(records.map((r, k) => (k === i ? stripped : r))).ok, false);
});

test('request log lines name the tenant, the token\'s sub and the run or DAG', async () => {
  const start = lines.find((l) => l.msg === 'request' && l.route === '/runs' && l.method === 'POST' && l.runId === ids.runId);
  assert.ok(start, 'no request line for POST /runs with its runId');
  assert.equal(start.tenant, 'a');
  assert.equal(start.sub, SUB);
  const cancel = lines.find((l) => l.msg === 'request' && l.route === '/runs/{runId}:cancel');
  assert.equal(cancel?.runId, ids.runId);
  const disable = lines.find((l) => l.msg === 'request' && l.route === '/dags/{dagId}/{version}:disable');
  assert.deepEqual([disable?.dagId, disable?.version, disable?.sub], ['audited', '0.9.0', SUB]);
  // GET /runs/{id} answers with JSON made once for an ended run: its lines still name the run's DAG, both times.
  const before = lines.length;
  for (let i = 0; i < 2; i++) assert.equal((await t.req('GET', `/runs/${ids.runId}`)).status, 200);
  const gets = lines.slice(before).filter((l) => l.msg === 'request' && l.route === '/runs/{runId}' && l.runId === ids.runId);
  assert.equal(gets.length, 2);
  assert.ok(gets.every((l) => l.dagId === 'audited'), JSON.stringify(gets));
  // A refused token never has a sub in the log.
  await t.req('GET', '/runs', { token: 'nope' });
  const refused = lines.filter((l) => l.msg === 'request' && l.status === 401);
  assert.ok(refused.length > 0 && refused.every((l) => l.sub === undefined));
});

test('run exports carry the actors; an export with them round-trips through import, an older one without them still imports', async () => {
  const { SqlitePorts, Store } = await import('../../src/store/index.js');
  const { importRunRecords } = await import('../../src/runs/transfer.js');
  const { exportedRuns } = await import('../helpers/exports.js');
  const { dagCanonicalJson, semverKey } = await import('../../src/dags/index.js');
  const all = parseNdjsonExport((await t.req('GET', '/runs:export?dagId=audited')).text) as any[];
  const records = all.filter((r) => r.runId === ids.runId);
  assert.equal(records.length, 1);
  const version = (await t.req('GET', '/dags/audited/1.0.0')).body;
  const target = (name: string) => {
    const store = Store.open({ dataDir: join(dir, name) });
    store.dags.insert({
      tenant: 'a', dagId: 'audited', version: '1.0.0', versionKey: semverKey('1.0.0'), hash: version.hash,
      definition: dagCanonicalJson(DAG as any), signature: null, signedBy: '[]', pluginPins: JSON.stringify(version.pluginPins), createdMs: Date.now(),
    });
    return store;
  };
  const fresh = target('import-new');
  try {
    assert.deepEqual(await importRunRecords(new SqlitePorts(fresh), records, { tenant: 'a' }), { imported: 1, unchanged: 0 });
    const back = await exportedRuns(new SqlitePorts(fresh), { tenant: 'a' });
    assert.deepEqual(back, records, 'import then export round-trips, actors included');
  } finally {
    fresh.close();
  }
  const old = records.map(({ createdBy: _c, cancelledBy: _b, cancelReason: _r, ...rest }) => rest);
  const older = target('import-old');
  try {
    assert.deepEqual(await importRunRecords(new SqlitePorts(older), old, { tenant: 'a' }), { imported: 1, unchanged: 0 });
    const row = older.runs.getForTenant('a', ids.runId!)!;
    assert.deepEqual([row.createdBy, row.cancelledBy, row.cancelReason], [null, null, null]);
    assert.deepEqual(await importRunRecords(new SqlitePorts(older), old, { tenant: 'a' }), { imported: 0, unchanged: 1 }, 'the old export again: unchanged');
  } finally {
    older.close();
  }
});
