/**
 * Retention and artifact collection on a folder of 10,000 runs (real server, real SQLite file,
 * real artifact store): a pass leaves exactly the runs the policy keeps and exactly the
 * artifacts they name; a run in flight is never touched, whatever its age; what is pruned is
 * archived first as NDJSON exports; the kept event log still verifies from its checkpoint.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish, startRun, waitForRun, waitUntil } from '../runs/helpers.js';
import { canonicalJson, readNdjsonExport, uuidv7 } from '../../src/core/index.js';
import { namedHashes } from '../../src/artifacts/index.js';
import { verifyEventChain } from '../../src/events/index.js';
import { importRunRecords, type RunRecord } from '../../src/runs/transfer.js';
import { exportedRuns } from '../helpers/exports.js';
import { integrityCheck } from '../hostile/support.js';
import { casObjects } from './support.js';

const DAY = 86_400_000;
const TOTAL = 10_000;
const REAL = 30;

let t: TestServer;
let archiveDir = '';
let nowMs = Date.now();
const clock = { now: () => nowMs };

before(async () => {
  archiveDir = mkdtempSync(join(tmpdir(), 'orch-archive-'));
  t = await startTestServer(['--allow-unsigned', '--artifact-gc-grace', '0', '--retention-archive-dir', archiveDir], {}, clock);
  await publish(t, { dagId: 'art', steps: [{ id: 'put', plugin: 'artifact', with: { content: '${{ inputs.content }}' } }] });
  await publish(t, { dagId: 'nap', steps: [{ id: 'nap', plugin: 'sleep', with: { ms: 600_000 } }] });
});
after(async () => {
  await t.stop();
  rmSync(archiveDir, { recursive: true, force: true });
});

test('retention + GC on 10,000 runs keeps exactly the runs of the policy and the artifacts they name', async () => {
  const store = t.server.store!;
  // 30 real runs, each writing its own artifact (and logs); they are 100 days old.
  nowMs = Date.now() - 100 * DAY;
  const real: string[] = [];
  for (let i = 0; i < REAL; i++) real.push((await startRun(t, 'art', { inputs: { content: `artifact number ${i}` } })).runId);
  for (const id of real) assert.equal((await waitForRun(t, id)).status, 'completed');
  // An old run still in flight: never pruned, whatever the policy.
  const sleeper = (await startRun(t, 'nap')).runId;
  await waitUntil(t, sleeper, (r) => r.status === 'running');
  const templates = await exportedRuns(t.server.ports, { tenant: 'a', dagId: 'art' });
  assert.equal(templates.length, REAL);
  // 9,970 more ended runs (imported), spread over 90 days, each naming the artifact and logs of
  // one of the first 20 real runs: the last 10 real runs' artifacts are named by nothing kept.
  nowMs = Date.now();
  const clones: RunRecord[] = [];
  for (let k = 0; k < TOTAL - REAL; k++) {
    const tpl = templates[k % 20]!;
    const started = nowMs - (k % 90) * DAY - 60_000 - k;
    const iso = (ms: number) => new Date(ms).toISOString();
    clones.push({ ...tpl, runId: uuidv7(), runToken: null, startedUtc: iso(started), createdUtc: iso(started), endedUtc: iso(started + 1000) } as RunRecord);
  }
  // In small transactions, yielding between them: the server's connections stay served.
  for (let i = 0; i < clones.length; i += 250) {
    await importRunRecords(t.server.ports, clones.slice(i, i + 250), { tenant: 'a' });
    await new Promise((r) => setImmediate(r));
  }

  const all = await exportedRuns(t.server.ports, { tenant: 'a' });
  assert.equal(all.length, TOTAL + 1);
  const objectsBefore = casObjects(t.dataDir);

  // Policy: keep the newest 50 ended runs of each DAG, and every run that ended in the last 30 days.
  const put = await t.req('PUT', '/admin/retention', { body: { maxAgeDays: 30, keepLast: 50 } });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.body, { tenant: 'a', maxAgeDays: 30, keepLast: 50, source: 'tenant', enabled: true });
  assert.deepEqual((await t.req('GET', '/admin/retention')).body, put.body);
  // What the policy keeps, computed here from the records.
  const ended = all.filter((r) => r.endedUtc !== null);
  const newest = new Set(
    [...ended].sort((a, b) => Date.parse(b.startedUtc!) - Date.parse(a.startedUtc!) || (b.runId < a.runId ? -1 : 1)).slice(0, 50).map((r) => r.runId),
  );
  const cutoff = nowMs + 1000 - 30 * DAY;
  const keep = new Set(all.filter((r) => r.endedUtc === null || newest.has(r.runId) || Date.parse(r.endedUtc) >= cutoff).map((r) => r.runId));
  assert.ok(keep.has(sleeper));
  assert.ok(keep.size > 1000 && keep.size < TOTAL - 1000, `a real split: ${keep.size} kept`);

  nowMs += 1000; // artifact rows are older than the grace (0 s)
  const applied = await t.req('POST', '/admin/retention:apply', { body: {} });
  assert.equal(applied.status, 200, applied.text);
  const report = applied.body.tenants.find((x: any) => x.tenant === 'a');
  assert.equal(report.runs, TOTAL + 1 - keep.size);

  const left = await exportedRuns(t.server.ports, { tenant: 'a' });
  assert.deepEqual(new Set(left.map((r) => r.runId)), keep, 'exactly the runs the policy keeps');
  assert.equal((await t.req('GET', `/runs/${sleeper}`)).body.status, 'running', 'the run in flight is untouched');

  // Exactly the artifacts the kept runs name: no more (collected), no less (no dangling hash).
  const named = new Set(left.flatMap((r) => namedHashes(canonicalJson(r))).filter((h) => objectsBefore.has(h)));
  const objectsAfter = casObjects(t.dataDir);
  assert.deepEqual(objectsAfter, named, 'the store holds exactly what kept runs name');
  assert.ok(objectsAfter.size < objectsBefore.size, 'something was collected');
  for (const h of named) assert.equal((await t.req('GET', `/artifacts/${h}`)).status, 200, `kept artifact ${h} readable`);

  // Archived first: every pruned run is in an archive, with a valid manifest.
  const archived = new Set<string>();
  const folder = join(archiveDir, 'a');
  for (const f of readdirSync(folder)) {
    assert.ok(!f.endsWith('.partial'), 'no partial archive left');
    const { records, manifest } = readNdjsonExport(readFileSync(join(folder, f), 'utf8'));
    assert.equal(manifest.count, records.length);
    if (f.startsWith('runs-')) for (const r of records as RunRecord[]) archived.add(r.runId);
  }
  const pruned = all.filter((r) => !keep.has(r.runId)).map((r) => r.runId);
  assert.equal(archived.size, pruned.length);
  for (const id of pruned) assert.ok(archived.has(id), `pruned run ${id} was archived`);

  // The kept event log verifies from its checkpoint.
  const ev = await t.req('GET', '/events:export');
  assert.equal(ev.status, 200);
  const { records, manifest } = readNdjsonExport(ev.text);
  assert.ok(manifest.checkpoint, 'the export carries the chain checkpoint');
  const chain = verifyEventChain(records, manifest);
  assert.equal(chain.ok, true, JSON.stringify(chain.problems));
  assert.ok(records.filter((e: any) => e.runId !== undefined).every((e: any) => keep.has(e.runId)), 'no event of a pruned run remains');
  // The events no run owns: the policy's change (after the kept runs' first events) and the
  // pass's own record, written after what it pruned.
  const runless = records.filter((e: any) => e.runId === undefined);
  assert.deepEqual(runless.map((e: any) => [e.type, e.pruned?.runs]), [['retention.changed', undefined], ['retention.applied', report.runs]]);
  assert.equal(integrityCheck(t.dataDir), 'ok');

  // Metrics count what was pruned.
  const metrics = (await t.req('GET', '/admin/metrics', { tenant: null, token: await t.token({ tenants: ['*'] }) })).text;
  assert.match(metrics, new RegExp(`orchestrator_retention_pruned_total\\{kind="runs"\\} ${report.runs}\\b`));
  assert.match(metrics, /orchestrator_artifacts_bytes \d+/);

  // A second pass has nothing left to do.
  const again = await t.req('POST', '/admin/retention:apply', { body: {} });
  assert.equal(again.body.tenants[0].runs, 0);
  assert.equal(again.body.artifacts.objects, 0);
  assert.ok(existsSync(join(t.dataDir, 'orchestrator.db')));
  await t.req('POST', `/runs/${sleeper}:cancel`, { body: {} });
});

test('retention policies are validated, and null for both turns retention off', async () => {
  for (const body of [{ maxAgeDays: -1, keepLast: null }, { maxAgeDays: 1.5, keepLast: null }, { maxAgeDays: 1 }, { maxAgeDays: 1, keepLast: 1, extra: 1 }, { maxAgeDays: '3', keepLast: null }]) {
    const r = await t.req('PUT', '/admin/retention', { tenant: 'b', body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.code, 'VALIDATION_FAILED');
  }
  const off = await t.req('PUT', '/admin/retention', { tenant: 'b', body: { maxAgeDays: null, keepLast: null } });
  assert.deepEqual(off.body, { tenant: 'b', maxAgeDays: null, keepLast: null, source: 'tenant', enabled: false });
  const fresh = await t.req('GET', '/admin/retention', { tenant: 'c' });
  assert.deepEqual(fresh.body, { tenant: 'c', maxAgeDays: null, keepLast: null, source: 'installation', enabled: false });
  const reader = await t.req('PUT', '/admin/retention', { tenant: 'b', token: await t.token({ tenants: ['b'], scopes: ['orchestrator:write'] }), body: { maxAgeDays: 1, keepLast: null } });
  assert.equal(reader.status, 403);
});
