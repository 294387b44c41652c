/**
 * Schedules in offline bundles, end to end through the CLI as child processes: `bundle create
 * --schedule` carries signed `*.schedule.json` documents (byte-identical rebuilds), `bundle
 * verify` checks them, `bundle import` installs them with the DAGs all or nothing (a tampered,
 * unsigned or foreign-tenant bundle, a schedule naming no DAG of the tenant, or one whose id
 * holds another definition refuses the whole bundle), and a re-import changes nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signSchedule } from '../../src/schedules/index.js';
import { canonicalJson } from '../../src/core/hash.js';
import { Store } from '../../src/store/index.js';
import { cli, dag, devKey, DEV_KEY_FILE, packSigned, payloadOf, repack, TRUST_DIR, unpackFiles } from './helpers.js';

let dir: string;
const inFile = (name: string) => join(dir, 'in', name);
const nightly = { scheduleId: 'nightly', dagId: 'alpha', cron: '30 2 * * *', timezone: 'Europe/Berlin', description: 'feeds' };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'orch-bundle-sched-'));
  mkdirSync(join(dir, 'in'));
  writeFileSync(inFile('alpha.json'), JSON.stringify(dag('alpha'), null, 2));
  writeFileSync(inFile('gamma.json'), JSON.stringify(dag('gamma')));
  writeFileSync(inFile('nightly.schedule.json'), JSON.stringify(signSchedule(nightly, devKey), null, 2));
  writeFileSync(inFile('hourly.schedule.json'), JSON.stringify(signSchedule({ scheduleId: 'hourly', dagId: 'alpha', cron: '@hourly' }, devKey)));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const create = (out: string, files: { dags?: string[]; schedules?: string[]; tenant?: string } = {}) =>
  cli([
    'bundle', 'create', '--out', join(dir, out), '--key', DEV_KEY_FILE, '--tenant', files.tenant ?? 'acme',
    ...(files.dags ?? ['alpha.json']).flatMap((f) => ['--dag', inFile(f)]),
    ...(files.schedules ?? ['nightly.schedule.json', 'hourly.schedule.json']).flatMap((f) => ['--schedule', inFile(f)]),
  ]);
const importInto = (bundle: string, data: string, tenant = 'acme') =>
  cli(['bundle', 'import', join(dir, bundle), '--tenant', tenant, '--data-dir', join(dir, data), '--trust-dir', TRUST_DIR]);

/** The tenant's DAG versions and schedules (id, cron, paused, signers) in a data folder. */
function installed(data: string, tenant = 'acme'): { dags: string[]; schedules: string[] } {
  const store = Store.open({ dataDir: join(dir, data) });
  try {
    return {
      dags: store.dags.list({ tenant, limit: 100 }).map((r) => `${r.dagId}@${r.version}`),
      schedules: store.schedules.list({ tenant, limit: 100 }).map((r) => `${r.scheduleId} ${JSON.parse(r.spec).cron} paused=${r.paused} signedBy=${JSON.parse(r.signedBy).length}`),
    };
  } finally {
    store.close();
  }
}

test('create carries signed schedules (byte-identical rebuilds); verify lists them; import installs them; a re-import changes nothing', async () => {
  const [c1, c2] = await Promise.all([create('one.tgz'), create('two.tgz')]);
  assert.equal(c1.code, 0, c1.stderr);
  assert.equal(c2.code, 0, c2.stderr);
  assert.ok(readFileSync(join(dir, 'one.tgz')).equals(readFileSync(join(dir, 'two.tgz'))), 'same inputs, same bytes');
  assert.deepEqual(c1.json.schedules, ['schedules/hourly.json', 'schedules/nightly.json']);
  // The file in the bundle is the canonical JSON of the signed document, whatever its formatting.
  const files = unpackFiles(readFileSync(join(dir, 'one.tgz')));
  assert.equal(files.get('schedules/nightly.json')!.toString(), canonicalJson(JSON.parse(readFileSync(inFile('nightly.schedule.json'), 'utf8'))));

  const v = await cli(['bundle', 'verify', join(dir, 'one.tgz'), '--trust-dir', TRUST_DIR, '--tenant', 'acme']);
  assert.equal(v.code, 0, v.stderr);
  assert.deepEqual(v.json.schedules.map((s: any) => [s.scheduleId, s.dagId, s.cron, s.signedBy.length]), [
    ['hourly', 'alpha', '@hourly', 1],
    ['nightly', 'alpha', '30 2 * * *', 1],
  ]);

  const i1 = await importInto('one.tgz', 'data');
  assert.equal(i1.code, 0, i1.stderr);
  assert.equal(i1.json.changed, true);
  assert.deepEqual(i1.json.schedules, [{ scheduleId: 'hourly', created: true }, { scheduleId: 'nightly', created: true }]);
  assert.deepEqual(installed('data'), {
    dags: ['alpha@1.0.0'],
    schedules: ['hourly @hourly paused=0 signedBy=1', 'nightly 30 2 * * * paused=0 signedBy=1'],
  });
  const store = Store.open({ dataDir: join(dir, 'data') });
  const before = store.schedules.get('acme', 'nightly')!;
  // Each stored schedule has its audit event, by the system, as its DAG has (docs/API.md "Actors").
  const audit = (s: Store) => s.events.since('acme', 0, 100).filter((e) => e.type !== 'dag.published').map((e) => [e.type, e.scheduleId, e.status, JSON.parse(e.detail!).actor]);
  const created = [['schedule.created', 'hourly', 'active', 'system'], ['schedule.created', 'nightly', 'active', 'system']];
  assert.deepEqual(audit(store), created);
  assert.deepEqual([before.createdBy, before.updatedBy], ['system', 'system'], 'the row names who stored it, as its event does');
  store.close();
  assert.ok(before.nextFireMs !== null, 'armed: the server fires it from its first start');

  const i2 = await importInto('one.tgz', 'data');
  assert.equal(i2.code, 0, i2.stderr);
  assert.equal(i2.json.changed, false);
  assert.deepEqual(i2.json.schedules, [{ scheduleId: 'hourly', created: false }, { scheduleId: 'nightly', created: false }]);
  const again = Store.open({ dataDir: join(dir, 'data') });
  try {
    assert.deepEqual(again.schedules.get('acme', 'nightly'), before, 'an identical schedule is left exactly as it is');
    assert.deepEqual(audit(again), created, 'a re-import writes no event');
  } finally {
    again.close();
  }
});

test('a tampered schedule refuses the whole bundle: changed bytes, an altered signed document, an unsigned one', async () => {
  assert.equal((await create('base.tgz')).code, 0);
  const original = readFileSync(join(dir, 'base.tgz'));

  // 1. The schedule's bytes changed after the bundle was signed: the manifest's hash no longer matches.
  const files = unpackFiles(original);
  const doc = JSON.parse(files.get('schedules/nightly.json')!.toString());
  files.set('schedules/nightly.json', Buffer.from(canonicalJson({ ...doc, cron: '30 3 * * *' })));
  writeFileSync(join(dir, 'bytes.tgz'), repack(files));

  // 2. A bundle signer (trusted for the manifest) altered the schedule after its author signed it.
  const payload = payloadOf(original);
  payload.set('schedules/nightly.json', Buffer.from(canonicalJson({ ...doc, cron: '30 3 * * *' })));
  writeFileSync(join(dir, 'resigned.tgz'), packSigned(payload));

  // 3. A schedule without its own signature in a signed bundle.
  const { signature: _s, ...unsigned } = doc;
  const payload2 = payloadOf(original);
  payload2.set('schedules/nightly.json', Buffer.from(canonicalJson(unsigned)));
  writeFileSync(join(dir, 'unsigned.tgz'), packSigned(payload2));

  for (const [bundle, reason, code] of [
    ['bytes.tgz', 'HASH_MISMATCH', 'VALIDATION_FAILED'],
    ['resigned.tgz', 'SCHEDULE_SIGNATURE_INVALID', 'SIGNATURE_INVALID'],
    ['unsigned.tgz', 'SCHEDULE_SIGNATURE_INVALID', 'SIGNATURE_INVALID'],
  ] as const) {
    const v = await cli(['bundle', 'verify', join(dir, bundle), '--trust-dir', TRUST_DIR]);
    assert.equal(v.code, 1, `${bundle}: ${v.stdout}`);
    assert.equal(v.json.error.details.reason, reason, bundle);
    assert.equal(v.json.error.details.path, 'schedules/nightly.json', bundle);
    const i = await importInto(bundle, `data-${bundle}`);
    assert.equal(i.code, 1, `${bundle}: ${i.stdout}`);
    assert.equal(i.json.error.code, code, bundle);
    assert.equal(i.json.error.details.reason, reason, bundle);
    assert.match(i.stderr, /nothing was installed/);
    assert.deepEqual(installed(`data-${bundle}`), { dags: [], schedules: [] }, `${bundle}: not the DAG either`);
  }

  // create refuses an unsigned schedule document and one that differs from its payload, naming the file.
  writeFileSync(inFile('unsigned.schedule.json'), JSON.stringify({ scheduleId: 'u', dagId: 'alpha', cron: '@daily' }));
  writeFileSync(inFile('altered.schedule.json'), JSON.stringify({ ...signSchedule({ scheduleId: 'a', dagId: 'alpha', cron: '@daily' }, devKey), cron: '@hourly' }));
  writeFileSync(inFile('badcron.schedule.json'), JSON.stringify(signSchedule({ scheduleId: 'b', dagId: 'alpha', cron: '61 * * * *' }, devKey)));
  for (const [file, message] of [
    ['unsigned.schedule.json', /unsigned\.schedule\.json: schedule u: not signed/],
    ['altered.schedule.json', /altered\.schedule\.json: schedule a: the document differs from its signed payload/],
    ['badcron.schedule.json', /badcron\.schedule\.json: schedule #1: .*cron/],
  ] as const) {
    const r = await create('refused.tgz', { schedules: [file] });
    assert.equal(r.code, 1, file);
    assert.match(r.stderr, message);
  }
});

test('a bundle is for its tenants: importing it into another tenant is refused, schedules included', async () => {
  assert.equal((await create('acme.tgz')).code, 0);
  const r = await importInto('acme.tgz', 'data-zeta', 'zeta');
  assert.equal(r.code, 1);
  assert.equal(r.json.error.details.reason, 'TENANT_MISMATCH');
  assert.match(r.stderr, /nothing was installed/);
  assert.deepEqual(installed('data-zeta', 'zeta'), { dags: [], schedules: [] });
});

test('all or nothing: a schedule naming no DAG of the tenant, or an id holding another definition, refuses every part of the bundle', async () => {
  // nightly names alpha, which this bundle does not carry and the tenant does not hold.
  assert.equal((await create('orphan.tgz', { dags: ['gamma.json'], schedules: ['nightly.schedule.json'] })).code, 0);
  const orphan = await importInto('orphan.tgz', 'data-all');
  assert.equal(orphan.code, 1);
  assert.equal(orphan.json.error.code, 'DAG_INVALID');
  assert.equal(orphan.json.error.details.path, 'schedules/nightly.json');
  assert.deepEqual(installed('data-all'), { dags: [], schedules: [] }, 'gamma rolled back with it');

  // The same id with another definition: SCHEDULE_EXISTS, nothing of the second bundle stays.
  assert.equal((await create('first.tgz')).code, 0);
  assert.equal((await importInto('first.tgz', 'data-all')).code, 0);
  writeFileSync(inFile('nightly2.schedule.json'), JSON.stringify(signSchedule({ ...nightly, cron: '0 3 * * *' }, devKey)));
  assert.equal((await create('second.tgz', { dags: ['alpha.json', 'gamma.json'], schedules: ['nightly2.schedule.json'] })).code, 0);
  const second = await importInto('second.tgz', 'data-all');
  assert.equal(second.code, 1, second.stdout);
  assert.equal(second.json.error.code, 'SCHEDULE_EXISTS');
  assert.equal(second.json.error.details.path, 'schedules/nightly.json');
  assert.deepEqual(installed('data-all'), {
    dags: ['alpha@1.0.0'],
    schedules: ['hourly @hourly paused=0 signedBy=1', 'nightly 30 2 * * * paused=0 signedBy=1'],
  });
});
