/**
 * `orchestrator migrate` and `orchestrator store copy` (docs/SCALE-OUT.md, "Moving an
 * installation"): a real installation made by a real server is copied into an empty PostgreSQL
 * database, verified table by table; what the ports read from both stores is the same (runs,
 * steps, attempts, events with their hash chains, DAG versions); runs not yet ended become runs
 * a node will take over; a second copy into the same database, a copy from a running
 * installation and bad arguments are refused and change nothing.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { SCHEMA, SqlitePorts, Store, type RunRow, type StorePorts } from '../../src/store/index.js';
import { PgStore } from '../../src/store/pg/index.js';
import { ndjsonText } from '../../src/core/index.js';
import { dagExportRecords } from '../../src/dags/service.js';
import { eventExportManifest, eventExportRecords } from '../../src/events/export.js';
import { exportRunRecords } from '../../src/runs/transfer.js';
import { FIXTURES } from '../helpers/base.js';
import { testDatabase } from '../helpers/pg.js';
import { startTestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { cli, parseJson, ROOT } from '../cli/helpers.js';

async function count(url: string, table: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(`select count(*)::int as n from ${table}`)).rows[0].n;
  } finally {
    await c.end();
  }
}

/** What a user reads back from a store: the tenant's runs with steps and attempts, its event log, its DAG versions. */
async function readAll(s: StorePorts, tenant: string): Promise<unknown> {
  const runs = await s.runs.list({ tenant, limit: 1000, asc: true });
  const detail = [];
  for (const r of runs) detail.push({ run: r, steps: await s.runs.steps(r.runId), attempts: await s.runs.attemptsOfRun(r.runId) });
  return { detail, events: await s.events.since(tenant, 0, 10_000), dags: await s.catalog.listVersions({ tenant, limit: 1000 }) };
}

test('store copy moves a stopped installation to PostgreSQL, verified; migrate creates and checks the schema', async (ctx) => {
  const db = await testDatabase(ctx);
  if (!db) return;
  const fresh = await testDatabase(ctx);
  after(async () => {
    await db.drop();
    await fresh!.drop();
  });

  // A real installation: the sample DAGs, three runs that completed.
  const t = await startTestServer(['--dags-dir', join(FIXTURES, 'dags')]);
  const ids: string[] = [];
  for (const name of ['ada', 'grace', 'linus']) {
    const r = await t.req('POST', '/runs', { tenant: 'demo', body: { dagId: 'hello', inputs: { name } } });
    assert.equal(r.status, 201, r.text);
    ids.push(r.body.runId);
  }
  for (const id of ids) await until(async () => (await t.req('GET', `/runs/${id}`, { tenant: 'demo' })).body.status === 'completed', `run ${id} completes`);

  // While the server runs, its folder is locked: the copy is refused, nothing written.
  const busy = await cli(['store', 'copy', '--from', t.dataDir, '--to', db.url]);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /in use by another orchestrator process/);
  await t.server.close(); // stopped, its folder kept (t.stop() would delete it)
  after(() => {
    rmSync(t.dataDir, { recursive: true, force: true });
    rmSync(`${t.dataDir}-work`, { recursive: true, force: true });
  });

  // A run the server had queued when it stopped (as a crash leaves it): it must be taken over on PostgreSQL.
  const src = Store.open({ dataDir: t.dataDir });
  const done = src.runs.getForTenant('demo', ids[0]!)!;
  const queued: RunRow = { ...done, tenant: 'demo', runId: '01900000-0000-7000-8000-00000000aaaa', runToken: null, status: 'queued', endedMs: null, outputsHash: null };
  src.tx(() => src.runs.insertRun(queued));
  src.close();

  // docs/SCALE-OUT.md's two lines, as documented (its URL and folder replaced by the test's).
  const doc = readFileSync(join(ROOT, 'docs', 'SCALE-OUT.md'), 'utf8').match(/^```sh\n(orchestrator migrate[^\n]*)\n(orchestrator store copy[^\n]*)\n```$/m);
  assert.ok(doc, 'docs/SCALE-OUT.md shows migrate and store copy');
  const args = (line: string) => line.replaceAll('postgres://orch@db.example:5432/orch', db.url).replace('--from ./data', `--from ${t.dataDir}`).split(/\s+/).slice(1);
  const m0 = await cli(args(doc[1]!));
  assert.equal(m0.code, 0, m0.stderr);
  assert.equal(parseJson(m0).previousVersion, 0);
  const r = await cli(args(doc[2]!));
  assert.equal(r.code, 0, r.stderr);
  const report = parseJson(r);
  assert.equal(report.to, db.url, 'no password in this URL: shown as given');
  assert.equal(report.runsToTakeOver, 1);
  const byTable = new Map<string, { rows: number; sha256: string }>(report.tables.map((x: { table: string; rows: number; sha256: string }) => [x.table, x]));
  assert.equal(byTable.get('runs')?.rows, 4);
  assert.ok((byTable.get('events')?.rows ?? 0) >= 6, 'the runs’ events');
  assert.equal(byTable.get('dag_versions')?.rows, 3);
  assert.match(r.stderr, /runs: 4 rows, sha256 [0-9a-f]{16}… verified/);
  assert.equal(await count(db.url, 'run_owners where node_id is null'), 1);

  // What the ports read is the same on both stores.
  const sqlite = Store.open({ dataDir: t.dataDir });
  const pgs = await PgStore.open({ url: db.url });
  try {
    assert.deepEqual(await readAll(pgs, 'demo'), await readAll(new SqlitePorts(sqlite), 'demo'));
    // Verified by equal exports: the NDJSON of GET /runs:export, /events:export and /dags:export
    // (the same code, over either store's ports) is byte for byte the same.
    const exports: Array<(p: StorePorts) => Promise<string>> = [
      (p) => ndjsonText(exportRunRecords(p.runs, { tenant: 'demo' })),
      async (p) => ndjsonText(eventExportRecords(p, 'demo', 0), await eventExportManifest(p, 'demo', 0)),
      (p) => ndjsonText(dagExportRecords(p.catalog, 'demo')),
    ];
    for (const exp of exports) {
      const [a, b] = [await exp(new SqlitePorts(sqlite)), await exp(pgs)];
      assert.ok(a.split('\n').length > 2, 'the export holds records');
      assert.equal(b, a);
    }
    assert.deepEqual((await pgs.leases.claim('node-1', 10)).map((h) => [h.runId, h.epoch]), [[queued.runId, 1]], 'the queued run is taken by the first node');
  } finally {
    await pgs.close();
    sqlite.close();
  }

  // A second copy into the same database is refused whole.
  const events = await count(db.url, 'events');
  const again = await cli(['store', 'copy', '--from', t.dataDir, '--to', db.url]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /not empty \(.*runs.*\).*Nothing was changed/);
  assert.equal(await count(db.url, 'events'), events);

  // migrate: creates the schema in an empty database, then finds nothing to do.
  const m1 = parseJson(await cli(['migrate', '--store', fresh!.url]));
  assert.deepEqual(m1, { store: fresh!.url, schemaVersion: SCHEMA.version, previousVersion: 0, changed: true });
  const m2 = parseJson(await cli(['migrate', '--store', fresh!.url]));
  assert.equal(m2.changed, false);
});

test('migrate and store copy refuse what is not a PostgreSQL URL or not an installation, and hide passwords', async () => {
  const notUrl = await cli(['migrate', '--store', './data']);
  assert.equal(notUrl.code, 1);
  assert.match(notUrl.stderr, /must be a PostgreSQL URL.*orchestrator upgrade --data-dir/);
  const noFrom = await cli(['store', 'copy', '--from', join(FIXTURES, 'dags'), '--to', 'postgres://u:secret@127.0.0.1:1/x']);
  assert.equal(noFrom.code, 1);
  assert.match(noFrom.stderr, /no installation there/);
  const down = await cli(['migrate', '--store', 'postgres://u:secret@127.0.0.1:1/x']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/);
  assert.doesNotMatch(down.stderr, /secret/);
});
